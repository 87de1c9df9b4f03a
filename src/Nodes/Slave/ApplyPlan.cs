using System.Text;
using Mammoth.Log.Records;
using Npgsql;

namespace Mammoth.Nodes.Slave;

/// <summary>
/// How the sections of one table with one operation and one column mask are applied: the row statement
/// (prepared, one execution per row, batched) and, for big sections, the staging table, its COPY and the
/// set statement. Built once and reused; its pooled commands make the row path allocation-free.
/// </summary>
internal sealed class ApplyPlan
{
    /// <summary>Column of every staging table: the row's position in the section, so "later wins" can be resolved.</summary>
    public const string OrdinalColumn = "mammoth$ord";

    private readonly List<RowCommand> _pool = [];
    private long _generation = -1;
    private int _used;

    private ApplyPlan(ChangeOp op, byte[] mask)
    {
        Op = op;
        Mask = mask;
    }

    public ChangeOp Op { get; }
    public byte[] Mask { get; }

    /// <summary>Fields per tuple the section must carry.</summary>
    public int FieldCount { get; private set; }

    /// <summary>True when sections of this shape change nothing on the slave (an UPDATE of key columns to themselves).</summary>
    public bool IsNoOp => RowSql is null;

    /// <summary>The statement executed per row (parameters = the tuple's fields in order); null for a no-op.</summary>
    public string? RowSql { get; private set; }

    /// <summary>Npgsql data type name per parameter (= per tuple field).</summary>
    public string[] ParameterTypes { get; private set; } = [];

    /// <summary>Whether big sections may go through COPY and a set statement (not UPDATE_KEY: it is applied row by row).</summary>
    public bool CanCopy => SetSql is not null;

    public string? StageName { get; private set; }
    public bool StageExists { get; set; }
    /// <summary>CREATE TEMP TABLE … AS SELECT the present columns FROM the target WITH NO DATA.</summary>
    public string? CreateStageSql { get; private set; }
    /// <summary>Adds the ordinal column (an identity: COPY fills it in row order).</summary>
    public string? AddOrdinalSql { get; private set; }
    public string? CopySql { get; private set; }
    public string? SetSql { get; private set; }

    private NpgsqlBatchCommand? _setCommand;
    private NpgsqlBatchCommand? _clearStage;
    private NpgsqlBatchCommand? _truncateStage;

    /// <summary>The set statement; a plan's COPY path flushes before each COPY, so this command is never twice in one batch.</summary>
    public NpgsqlBatchCommand SetCommand => _setCommand ??= new NpgsqlBatchCommand(SetSql!);
    public NpgsqlBatchCommand ClearStageCommand => _clearStage ??= new NpgsqlBatchCommand($"DELETE FROM {StageName}");
    public NpgsqlBatchCommand TruncateStageCommand => _truncateStage ??= new NpgsqlBatchCommand($"TRUNCATE {StageName}");

    /// <summary>Rows deleted from the staging table since it was last truncated (dead tuples, which temp tables never get vacuumed of).</summary>
    public long StagedSinceTruncate { get; set; }

    /// <summary>What a row statement does, for error messages ("UPDATE of public.foo").</summary>
    public string Verb => Op switch
    {
        ChangeOp.Insert => "INSERT",
        ChangeOp.Update => "UPDATE",
        ChangeOp.UpdateKey => "UPDATE (key change)",
        ChangeOp.Delete => "DELETE",
        _ => "TRUNCATE",
    };

    /// <summary>A pooled command for the next row; valid until the batch it is added to has executed.</summary>
    public RowCommand Rent(long batchGeneration)
    {
        if (_generation != batchGeneration)
        {
            _generation = batchGeneration;
            _used = 0;
        }
        if (_used == _pool.Count)
            _pool.Add(new RowCommand(RowSql!, ParameterTypes));
        return _pool[_used++];
    }

    /// <summary>
    /// Builds the plan; throws <see cref="ApplyException"/> when the slave's table cannot take these rows
    /// (a column it lacks, a generated column, a section without the key).
    /// </summary>
    public static ApplyPlan Build(SlaveRelation rel, LocalTable target, ChangeOp op, ReadOnlySpan<byte> mask, string stageName, long recno)
    {
        RelationInfo info = rel.Info;
        var plan = new ApplyPlan(op, mask.ToArray());
        int[] present = PresentColumns(rel, op, mask, recno);
        int[] key = rel.Key;
        if (key.Length == 0 && op is not ChangeOp.Truncate)
            throw new ApplyException(recno, $"record {recno}: the master sent {plan.Verb} rows of {rel.Describe} without key columns; only tables with a primary key can be replicated");

        // Every column the master sends must exist here (matched by name; the slave may have more).
        var local = new LocalColumn[info.Columns.Count];
        foreach (int c in (int[])[.. present, .. key])
        {
            ColumnInfo mc = info.Columns[c];
            if (!target.Columns.TryGetValue(mc.Name, out LocalColumn lc))
            {
                throw new ApplyException(recno,
                    $"record {recno}: table {rel.Describe} has no column {RelationInfo.QuoteIdent(mc.Name)} on this slave, but the master sends it; " +
                    $"add it on the slave (ALTER TABLE {target.QualifiedName} ADD COLUMN {RelationInfo.QuoteIdent(mc.Name)} {mc.TypeName}) and replication resumes by itself");
            }
            if (lc.Generated && op is ChangeOp.Insert or ChangeOp.Update or ChangeOp.UpdateKey && present.Contains(c))
            {
                throw new ApplyException(recno,
                    $"record {recno}: column {RelationInfo.QuoteIdent(mc.Name)} of {rel.Describe} is a generated column on this slave, but the master sends values for it; make it an ordinary column on the slave");
            }
            local[c] = lc;
        }

        string t = target.QualifiedName;
        string Col(int c) => RelationInfo.QuoteIdent(info.Columns[c].Name);
        bool keyPresent = key.All(present.Contains);
        int[] nonKey = [.. present.Where(c => !key.Contains(c))];
        var sql = new StringBuilder();
        switch (op)
        {
            case ChangeOp.Insert:
                if (!keyPresent)
                    throw MissingKey(rel, plan, recno);
                plan.FieldCount = present.Length;
                plan.ParameterTypes = [.. present.Select(c => local[c].DataTypeName)];
                sql.Append("INSERT INTO ").Append(t).Append(" (").AppendJoin(", ", present.Select(Col)).Append(") VALUES (")
                   .AppendJoin(", ", present.Select((_, i) => "$" + (i + 1))).Append(')');
                AppendOnConflict(sql, key, nonKey, Col);
                plan.RowSql = sql.ToString();
                sql.Clear().Append("INSERT INTO ").Append(t).Append(" (").AppendJoin(", ", present.Select(Col)).Append(") SELECT ")
                   .AppendJoin(", ", present.Select(Col)).Append(" FROM ").Append(stageName);
                AppendOnConflict(sql, key, nonKey, Col);
                plan.SetSql = sql.ToString();
                break;

            case ChangeOp.Update:
                if (!keyPresent)
                    throw MissingKey(rel, plan, recno);
                plan.FieldCount = present.Length;
                plan.ParameterTypes = [.. present.Select(c => local[c].DataTypeName)];
                if (nonKey.Length == 0)
                    break; // only key columns, unchanged: nothing to write
                sql.Append("UPDATE ").Append(t).Append(" SET ")
                   .AppendJoin(", ", nonKey.Select(c => $"{Col(c)} = ${Array.IndexOf(present, c) + 1}"))
                   .Append(" WHERE ").AppendJoin(" AND ", key.Select(c => $"{Col(c)} = ${Array.IndexOf(present, c) + 1}"));
                plan.RowSql = sql.ToString();
                // Set form: the same row may be updated twice in one section; the last one wins.
                sql.Clear().Append("UPDATE ").Append(t).Append(" AS t SET ")
                   .AppendJoin(", ", nonKey.Select(c => $"{Col(c)} = s.{Col(c)}"))
                   .Append(" FROM (SELECT DISTINCT ON (").AppendJoin(", ", key.Select(Col)).Append(") ").AppendJoin(", ", present.Select(Col))
                   .Append(" FROM ").Append(stageName).Append(" ORDER BY ").AppendJoin(", ", key.Select(Col)).Append(", \"").Append(OrdinalColumn).Append("\" DESC) AS s")
                   .Append(" WHERE ").AppendJoin(" AND ", key.Select(c => $"t.{Col(c)} = s.{Col(c)}"));
                plan.SetSql = sql.ToString();
                break;

            case ChangeOp.UpdateKey:
                // Fields: the old key (in key order), then the new values of the present columns. Applied row by
                // row in order, so chains (a→b, b→c) and swaps go through whatever the unique checks say
                // in between; absent (unchanged TOAST) columns are not touched.
                plan.FieldCount = key.Length + present.Length;
                plan.ParameterTypes = [.. key.Select(c => local[c].DataTypeName), .. present.Select(c => local[c].DataTypeName)];
                if (present.Length == 0)
                    break;
                sql.Append("UPDATE ").Append(t).Append(" SET ")
                   .AppendJoin(", ", present.Select((c, i) => $"{Col(c)} = ${key.Length + i + 1}"))
                   .Append(" WHERE ").AppendJoin(" AND ", key.Select((c, i) => $"{Col(c)} = ${i + 1}"));
                plan.RowSql = sql.ToString();
                break;

            case ChangeOp.Delete:
                if (!keyPresent)
                    throw MissingKey(rel, plan, recno);
                plan.FieldCount = present.Length;
                plan.ParameterTypes = [.. present.Select(c => local[c].DataTypeName)];
                sql.Append("DELETE FROM ").Append(t).Append(" WHERE ")
                   .AppendJoin(" AND ", key.Select(c => $"{Col(c)} = ${Array.IndexOf(present, c) + 1}"));
                plan.RowSql = sql.ToString();
                sql.Clear().Append("DELETE FROM ").Append(t).Append(" AS t USING ").Append(stageName).Append(" AS s WHERE ")
                   .AppendJoin(" AND ", key.Select(c => $"t.{Col(c)} = s.{Col(c)}"));
                plan.SetSql = sql.ToString();
                break;

            default:
                throw new ArgumentOutOfRangeException(nameof(op), op, "TRUNCATE has no plan");
        }

        if (plan.SetSql is not null)
        {
            plan.StageName = stageName;
            plan.CreateStageSql = $"CREATE TEMP TABLE {stageName} AS SELECT {string.Join(", ", present.Select(Col))} FROM {t} WITH NO DATA";
            plan.AddOrdinalSql = $"ALTER TABLE {stageName} ADD COLUMN \"{OrdinalColumn}\" bigint GENERATED ALWAYS AS IDENTITY";
            plan.CopySql = $"COPY {stageName} ({string.Join(", ", present.Select(Col))}) FROM STDIN (FORMAT binary)";
        }
        return plan;
    }

    private static void AppendOnConflict(StringBuilder sql, int[] key, int[] nonKey, Func<int, string> col)
    {
        sql.Append(" ON CONFLICT (").AppendJoin(", ", key.Select(col)).Append(')');
        if (nonKey.Length == 0)
            sql.Append(" DO NOTHING");
        else
            sql.Append(" DO UPDATE SET ").AppendJoin(", ", nonKey.Select(c => $"{col(c)} = EXCLUDED.{col(c)}"));
    }

    private static ApplyException MissingKey(SlaveRelation rel, ApplyPlan plan, long recno) =>
        new(recno, $"record {recno}: the master sent {plan.Verb} rows of {rel.Describe} without all of its key columns ({string.Join(", ", rel.Key.Select(k => rel.Info.Columns[k].Name))})");

    /// <summary>Relation column indexes present in the section, in column order.</summary>
    private static int[] PresentColumns(SlaveRelation rel, ChangeOp op, ReadOnlySpan<byte> mask, long recno)
    {
        int n = rel.Info.Columns.Count;
        if (mask.IsEmpty)
            return op == ChangeOp.Delete ? rel.Key : [.. Enumerable.Range(0, n)];
        var list = new List<int>();
        for (int i = 0; i < mask.Length * 8; i++)
        {
            if ((mask[i >> 3] & (1 << (i & 7))) == 0)
                continue;
            if (i >= n)
                throw new ApplyException(recno, $"record {recno}: a section of {rel.Describe} names column {i + 1}, but its RELATION has only {n} columns");
            list.Add(i);
        }
        return [.. list];
    }
}
