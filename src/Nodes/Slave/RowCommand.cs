using Npgsql;

namespace Mammoth.Nodes.Slave;

/// <summary>A reusable row statement: one batch command and its raw parameters.</summary>
internal sealed class RowCommand
{
    public RowCommand(string sql, string[] types)
    {
        Command = new NpgsqlBatchCommand(sql);
        Parameters = new NpgsqlParameter<RawValue>[types.Length];
        for (int i = 0; i < types.Length; i++)
        {
            Parameters[i] = new NpgsqlParameter<RawValue> { DataTypeName = types[i] };
            Command.Parameters.Add(Parameters[i]);
        }
    }

    public NpgsqlBatchCommand Command { get; }
    public NpgsqlParameter<RawValue>[] Parameters { get; }
}
