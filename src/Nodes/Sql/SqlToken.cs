namespace Mammoth.Nodes.Sql;

/// <summary>One token of SQL text: its kind and where it is (<see cref="Start"/>, <see cref="Length"/> in the text).</summary>
public readonly record struct SqlToken(SqlTokenKind Kind, int Start, int Length)
{
    public int End => Start + Length;

    public string Text(string sql) => sql.Substring(Start, Length);

    public bool IsWord(string sql, string word) =>
        Kind == SqlTokenKind.Word && string.Compare(sql, Start, word, 0, Math.Max(Length, word.Length), StringComparison.OrdinalIgnoreCase) == 0
        && Length == word.Length;

    public bool IsSymbol(string sql, char c) => Kind == SqlTokenKind.Symbol && Length == 1 && sql[Start] == c;
}
