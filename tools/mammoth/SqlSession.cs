using System.Globalization;
using System.Text;
using Mammoth.Nodes.Sql;
using Npgsql;

namespace Mammoth.Tools.Admin;

/// <summary>Runs statements on one connection and prints what psql would: tables, command tags, notices, errors.</summary>
internal sealed class SqlSession
{
    // Types psql right-aligns: int2, int4, int8, float4, float8, numeric, oid, xid, cid, xid8, money.
    private static readonly HashSet<uint> NumericTypes = [21, 23, 20, 700, 701, 1700, 26, 28, 29, 5069, 790];

    private readonly NpgsqlConnection _connection;
    private readonly TextWriter _out;
    private readonly TextWriter _err;

    public SqlSession(NpgsqlConnection connection, TextWriter output, TextWriter error)
    {
        _connection = connection;
        _out = output;
        _err = error;
        _connection.Notice += (_, e) =>
        {
            _out.Flush();
            _err.WriteLine($"{e.Notice.Severity}:  {e.Notice.MessageText}");
            if (!string.IsNullOrEmpty(e.Notice.Detail))
                _err.WriteLine($"DETAIL:  {e.Notice.Detail}");
            if (!string.IsNullOrEmpty(e.Notice.Hint))
                _err.WriteLine($"HINT:  {e.Notice.Hint}");
        };
    }

    /// <summary>Runs every statement of a script; stops at the first that fails and returns false.</summary>
    public async Task<bool> RunScriptAsync(string script)
    {
        foreach (var statement in SqlSplitter.SplitScript(script))
        {
            if (!await RunAsync(statement.Text))
                return false;
        }
        return true;
    }

    /// <summary>A prompt loop: statements run when their semicolon arrives; errors are printed and the loop goes on.</summary>
    public async Task RunInteractiveAsync(TextReader input, string database)
    {
        bool superuser = _connection.PostgresParameters.TryGetValue("is_superuser", out string? su) && su == "on";
        _out.WriteLine($"mammoth sql (MammothFast), PostgreSQL {_connection.PostgreSqlVersion}. Type \\q to quit, \\? for help.");
        var buffer = new StringBuilder();
        while (true)
        {
            bool continuing = buffer.ToString().Trim().Length > 0;
            _out.Write($"{database}{(continuing ? '-' : '=')}{(superuser ? '#' : '>')} ");
            _out.Flush();
            string? line = await input.ReadLineAsync();
            if (line is null)
            {
                _out.WriteLine();
                return;
            }
            if (!continuing && line.TrimStart().StartsWith('\\'))
            {
                string meta = line.Trim();
                if (meta is "\\q" or "\\quit")
                    return;
                if (meta == "\\?")
                    _out.WriteLine(SqlCommand.Usage);
                else
                    _err.WriteLine($"invalid command {meta}; this prompt knows \\q and \\?");
                continue;
            }
            buffer.Append(line).Append('\n');
            var statements = SqlSplitter.Split(buffer.ToString(), out string rest);
            foreach (var statement in statements)
                await RunAsync(statement.Text);
            buffer.Clear().Append(rest.Trim().Length == 0 ? "" : rest);
        }
    }

    /// <summary>Runs one statement (rewritten when it is a replication statement) and prints its result.</summary>
    public async Task<bool> RunAsync(string statement)
    {
        RewrittenStatement? rewritten;
        try
        {
            rewritten = ReplicationStatementRewriter.TryRewrite(statement);
        }
        catch (SqlRewriteException ex)
        {
            _out.Flush();
            _err.WriteLine($"ERROR:  {ex.Message}");
            return false;
        }
        string sql = rewritten?.Sql ?? statement;
        try
        {
            await using var cmd = new NpgsqlCommand(sql, _connection) { AllResultTypesAreUnknown = true };
            NpgsqlBatchCommand result;
            await using (var reader = await cmd.ExecuteReaderAsync())
            {
                // NpgsqlDataReader.Statements is marked obsolete in favour of NpgsqlBatch, but a batch command cannot
                // ask for text-format results (AllResultTypesAreUnknown), which printing values exactly as
                // PostgreSQL formats them needs; the statement type and row count are only here.
#pragma warning disable CS0618
                result = reader.Statements[0];
#pragma warning restore CS0618
                if (rewritten is not null)
                {
                    while (await reader.ReadAsync())
                    {
                    }
                    _out.WriteLine(rewritten.CommandTag);
                    return true;
                }
                if (reader.FieldCount > 0)
                {
                    var headers = new string[reader.FieldCount];
                    var right = new bool[reader.FieldCount];
                    for (int i = 0; i < headers.Length; i++)
                    {
                        headers[i] = reader.GetName(i);
                        right[i] = NumericTypes.Contains(reader.GetDataTypeOID(i));
                    }
                    var rows = new List<string?[]>();
                    while (await reader.ReadAsync())
                    {
                        var row = new string?[headers.Length];
                        for (int i = 0; i < row.Length; i++)
                            row[i] = reader.IsDBNull(i) ? null : reader.GetString(i);
                        rows.Add(row);
                    }
                    PsqlTable.Write(_out, headers, right, rows);
                    return true;
                }
            }
            _out.WriteLine(Tag(statement, result));
            return true;
        }
        catch (PostgresException ex)
        {
            _out.Flush();
            _err.WriteLine($"{ex.Severity}:  {ex.MessageText}");
            if (!string.IsNullOrEmpty(ex.Detail))
                _err.WriteLine($"DETAIL:  {ex.Detail}");
            if (!string.IsNullOrEmpty(ex.Hint))
                _err.WriteLine($"HINT:  {ex.Hint}");
            // Positions and PL/pgSQL context of a rewritten statement point into our SQL, not the user's.
            if (rewritten is null)
            {
                if (ex.Position > 0)
                    WritePosition(statement, ex.Position);
                if (!string.IsNullOrEmpty(ex.Where))
                    _err.WriteLine($"CONTEXT:  {ex.Where}");
            }
            return false;
        }
    }

    private static string Tag(string statement, NpgsqlBatchCommand result)
    {
        string rows = result.Rows.ToString(CultureInfo.InvariantCulture);
        return result.StatementType switch
        {
            StatementType.Insert => "INSERT 0 " + rows,
            StatementType.Update => "UPDATE " + rows,
            StatementType.Delete => "DELETE " + rows,
            StatementType.Merge => "MERGE " + rows,
            StatementType.Copy => "COPY " + rows,
            StatementType.Move => "MOVE " + rows,
            StatementType.Fetch => "FETCH " + rows,
            StatementType.Select or StatementType.CreateTableAs => "SELECT " + rows,
            StatementType.Call => "CALL",
            _ => CommandTags.Infer(statement),
        };
    }

    /// <summary>psql's "LINE n: …" and caret under the error position (1-based, in characters).</summary>
    private void WritePosition(string statement, int position)
    {
        int index = Math.Min(position - 1, statement.Length);
        int lineStart = statement.LastIndexOf('\n', Math.Max(index - 1, 0)) + 1;
        if (index == 0)
            lineStart = 0;
        int lineEnd = statement.IndexOf('\n', index);
        if (lineEnd < 0)
            lineEnd = statement.Length;
        int lineNo = 1 + statement.AsSpan(0, lineStart).Count('\n');
        string prefix = $"LINE {lineNo}: ";
        string text = statement[lineStart..lineEnd];
        _err.WriteLine(prefix + text);
        _err.WriteLine(new string(' ', prefix.Length + PsqlTable.DisplayWidth(statement[lineStart..index])) + "^");
    }
}
