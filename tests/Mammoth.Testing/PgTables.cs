using System.Diagnostics;
using System.Text;
using Npgsql;
using Xunit.Sdk;

namespace Mammoth.Testing;

/// <summary>Table-level helpers and assertions for integration tests.</summary>
public static class PgTables
{
    /// <summary><c>SELECT count(*) FROM <paramref name="table"/></c> (table text used as given: quote it yourself if needed).</summary>
    public static async Task<long> CountAsync(string connectionString, string table)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync().ConfigureAwait(false);
        await using var command = new NpgsqlCommand($"SELECT count(*) FROM {table}", connection);
        return (long)(await command.ExecuteScalarAsync().ConfigureAwait(false))!;
    }

    /// <summary>
    /// Compares <paramref name="table"/> on both sides row by row in <paramref name="orderByKey"/>
    /// order, each row as PostgreSQL's text of the whole row (<c>SELECT r::text FROM table r ORDER BY key</c>, with an alias no column uses).
    /// Fails with the first differing key, both rows, and both row counts.
    /// </summary>
    /// <param name="orderByKey">Key column(s) as SQL, e.g. <c>id</c> or <c>a, b</c>; must order rows uniquely.</param>
    /// <exception cref="XunitException">The tables differ.</exception>
    public static async Task AssertTablesEqualAsync(string masterConnectionString, string slaveConnectionString, string table, string orderByKey)
    {
        string? difference = await FindDifferenceAsync(masterConnectionString, slaveConnectionString, table, orderByKey).ConfigureAwait(false);
        if (difference is not null)
            throw new XunitException(difference);
    }

    /// <summary>
    /// Polls <see cref="AssertTablesEqualAsync"/> until the tables are equal (replication caught
    /// up) or <paramref name="timeout"/> passes, then fails with the last difference.
    /// </summary>
    public static async Task WaitForTablesEqualAsync(
        string masterConnectionString, string slaveConnectionString, string table, string orderByKey, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            string? difference;
            try
            {
                difference = await FindDifferenceAsync(masterConnectionString, slaveConnectionString, table, orderByKey).ConfigureAwait(false);
            }
            catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.UndefinedTable && clock.Elapsed < timeout)
            {
                difference = ex.Message; // the slave may not have the table yet
            }
            if (difference is null)
                return;
            if (clock.Elapsed >= timeout)
                throw new XunitException($"Still different after {timeout.TotalSeconds:0.#} s. {difference}");
            await Task.Delay(100).ConfigureAwait(false);
        }
    }

    /// <summary>Null when equal, else a description of the first difference.</summary>
    public static async Task<string?> FindDifferenceAsync(string masterConnectionString, string slaveConnectionString, string table, string orderByKey)
    {
        // The key is shown as a row constructor so composite keys work too: (1) or (1,abc).
        string sql = $"SELECT mammoth_row_::text, ROW({orderByKey})::text FROM {table} mammoth_row_ ORDER BY {orderByKey}";
        await using var master = new NpgsqlConnection(masterConnectionString);
        await using var slave = new NpgsqlConnection(slaveConnectionString);
        await master.OpenAsync().ConfigureAwait(false);
        await slave.OpenAsync().ConfigureAwait(false);
        await using var masterCommand = new NpgsqlCommand(sql, master);
        await using var slaveCommand = new NpgsqlCommand(sql, slave);
        await using var masterRows = await masterCommand.ExecuteReaderAsync().ConfigureAwait(false);
        await using var slaveRows = await slaveCommand.ExecuteReaderAsync().ConfigureAwait(false);

        long index = 0;
        string? firstDifference = null;
        long masterCount = 0, slaveCount = 0;
        while (true)
        {
            bool masterHas = await masterRows.ReadAsync().ConfigureAwait(false);
            bool slaveHas = await slaveRows.ReadAsync().ConfigureAwait(false);
            if (masterHas)
                masterCount++;
            if (slaveHas)
                slaveCount++;
            if (!masterHas && !slaveHas)
                break;
            if (firstDifference is null)
            {
                string? masterRow = masterHas ? masterRows.GetString(0) : null;
                string? slaveRow = slaveHas ? slaveRows.GetString(0) : null;
                if (masterRow != slaveRow)
                {
                    string masterKey = masterHas ? masterRows.GetString(1) : "(none)";
                    string slaveKey = slaveHas ? slaveRows.GetString(1) : "(none)";
                    string key = masterKey == slaveKey ? masterKey : $"{masterKey} on master, {slaveKey} on slave";
                    firstDifference = new StringBuilder()
                        .Append("Table ").Append(table).Append(" differs at row ").Append(index + 1)
                        .Append(" (ordered by ").Append(orderByKey).Append("), key ").Append(key).Append(":\n")
                        .Append("  master: ").Append(masterRow ?? "(no row)").Append('\n')
                        .Append("  slave:  ").Append(slaveRow ?? "(no row)").Append('\n')
                        .ToString();
                }
            }
            index++;
        }
        return firstDifference is null ? null : firstDifference + $"  rows: master {masterCount}, slave {slaveCount}";
    }
}
