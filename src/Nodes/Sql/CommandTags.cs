namespace Mammoth.Nodes.Sql;

/// <summary>
/// The command tag PostgreSQL reports for a statement that returns no rows and no row count (CREATE TABLE,
/// SET, BEGIN …), worked out from the statement's leading words, because the client library keeps only the
/// row counts of CommandComplete. Covers PostgreSQL's tag list (cmdtaglist.h) for the statements people type.
/// </summary>
public static class CommandTags
{
    private static readonly string[] CreateModifiers = ["OR", "REPLACE", "TEMP", "TEMPORARY", "UNLOGGED", "GLOBAL", "LOCAL", "UNIQUE", "CONSTRAINT", "TRUSTED", "PROCEDURAL", "RECURSIVE", "DEFAULT"];

    private static readonly string[][] MultiWordObjects =
    [
        ["MATERIALIZED", "VIEW"], ["FOREIGN", "DATA", "WRAPPER"], ["FOREIGN", "TABLE"], ["EVENT", "TRIGGER"],
        ["TEXT", "SEARCH", "CONFIGURATION"], ["TEXT", "SEARCH", "DICTIONARY"], ["TEXT", "SEARCH", "PARSER"], ["TEXT", "SEARCH", "TEMPLATE"],
        ["ACCESS", "METHOD"], ["OPERATOR", "CLASS"], ["OPERATOR", "FAMILY"], ["USER", "MAPPING"], ["DEFAULT", "PRIVILEGES"], ["LARGE", "OBJECT"],
    ];

    /// <summary>The tag for <paramref name="statement"/>, e.g. "CREATE TABLE" for <c>create temp table t (a int)</c>.</summary>
    public static string Infer(string statement)
    {
        var words = new List<string>(8);
        bool topLevelOn = false;
        var lexer = new SqlLexer(statement);
        int depth = 0;
        while (lexer.Next(out var t))
        {
            if (t.IsSymbol(statement, '('))
                depth++;
            else if (t.IsSymbol(statement, ')'))
                depth--;
            if (t.Kind != SqlTokenKind.Word)
            {
                if (words.Count == 0)
                    return "";
                if (words.Count < 8)
                    words.Add("");  // keeps positions honest: "CREATE TABLE x (" stops the object words
                continue;
            }
            string w = t.Text(statement).ToUpperInvariant();
            if (w == "ON" && depth == 0)
                topLevelOn = true;
            if (words.Count < 8)
                words.Add(w);
        }
        if (words.Count == 0)
            return "";
        string first = words[0];
        string At(int i) => i < words.Count ? words[i] : "";
        switch (first)
        {
            case "CREATE":
            case "ALTER":
            case "DROP":
            {
                int i = 1;
                if (first == "CREATE")
                {
                    while (i < words.Count && Array.IndexOf(CreateModifiers, words[i]) >= 0 && !(words[i] == "DEFAULT" && At(i + 1) == "PRIVILEGES"))
                        i++;
                }
                if (first == "DROP" && At(1) == "OWNED")
                    return "DROP OWNED";
                if (first == "ALTER" && At(1) == "SYSTEM")
                    return "ALTER SYSTEM";
                foreach (var multi in MultiWordObjects)
                {
                    bool match = true;
                    for (int k = 0; k < multi.Length && match; k++)
                        match = At(i + k) == multi[k];
                    if (match)
                        return first + " " + string.Join(' ', multi);
                }
                string obj = At(i) switch
                {
                    "USER" or "GROUP" => "ROLE",
                    "" => "",
                    var o => o,
                };
                return obj.Length == 0 ? first : first + " " + obj;
            }
            case "GRANT":
            case "REVOKE":
                return topLevelOn ? first : first + " ROLE";
            case "BEGIN":
                return "BEGIN";
            case "START":
                return "START TRANSACTION";
            case "COMMIT":
            case "END":
                return At(1) == "PREPARED" ? "COMMIT PREPARED" : "COMMIT";
            case "ROLLBACK":
            case "ABORT":
                return At(1) == "PREPARED" ? "ROLLBACK PREPARED" : "ROLLBACK";
            case "PREPARE":
                return At(1) == "TRANSACTION" ? "PREPARE TRANSACTION" : "PREPARE";
            case "SET":
                return At(1) == "CONSTRAINTS" ? "SET CONSTRAINTS" : "SET";
            case "TRUNCATE":
                return "TRUNCATE TABLE";
            case "LOCK":
                return "LOCK TABLE";
            case "ANALYZE":
            case "ANALYSE":
                return "ANALYZE";
            case "DISCARD":
                return At(1) == "TEMPORARY" ? "DISCARD TEMP" : At(1).Length > 0 ? "DISCARD " + At(1) : "DISCARD";
            case "DECLARE":
                return "DECLARE CURSOR";
            case "CLOSE":
                return At(1) == "ALL" ? "CLOSE CURSOR ALL" : "CLOSE CURSOR";
            case "DEALLOCATE":
                return At(1) == "ALL" || At(2) == "ALL" ? "DEALLOCATE ALL" : "DEALLOCATE";
            case "REFRESH":
                return "REFRESH MATERIALIZED VIEW";
            case "IMPORT":
                return "IMPORT FOREIGN SCHEMA";
            case "REASSIGN":
                return "REASSIGN OWNED";
            case "SECURITY":
                return "SECURITY LABEL";
            default:
                return first;
        }
    }
}
