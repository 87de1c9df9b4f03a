using System.Buffers;
using System.Text;
using Mammoth.Log.Types;
using Mammoth.Testing;
using Npgsql;
using Xunit;

namespace Mammoth.Log.Tests.Types;

/// <summary>
/// Checks <see cref="PgBinaryText"/> against a real server: for every value, Format(binary COPY
/// field) must equal COPY's text of the same value, and for key types TryEncodeKey(text) must
/// equal the binary field.
/// </summary>
public sealed class PgBinaryTextServerTests : IClassFixture<PgServerFixture>
{
    private readonly PgServerFixture _fixture;
    private string? _database;

    public PgBinaryTextServerTests(PgServerFixture fixture) => _fixture = fixture;

    public static TheoryData<string> Cases => new(TypeCase.All.Keys);

    public static TheoryData<string> KeyCases => new(TypeCase.All.Where(c => c.Value.IsKey).Select(c => c.Key));

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Format_matches_server_text_for_values_and_arrays(string name)
    {
        var typeCase = TypeCase.All[name];
        await using var connection = await OpenWithValuesAsync(typeCase);
        string t = typeCase.ColumnType;
        string pairs = "SELECT a.id, ARRAY[a.v, b.v] AS pair FROM vals a JOIN vals b ON b.id = a.id + 1";
        string matrices = $"SELECT (p.id - 1) / 2 AS g, array_agg(p.pair ORDER BY p.id) AS m FROM ({pairs}) p WHERE p.id <= 24 GROUP BY 1";
        string[] queries =
        [
            "SELECT v FROM vals ORDER BY id",
            "SELECT array_agg(v ORDER BY id) FROM vals GROUP BY id % 11 ORDER BY min(id)",
            $"SELECT array_agg(pair ORDER BY id) FROM ({pairs}) p GROUP BY id % 7 ORDER BY min(id)",
            $"SELECT array_agg(m ORDER BY g) FROM ({matrices}) q GROUP BY g % 3 ORDER BY min(g)",
            $"SELECT ('[-1:0][3:4]=' || m::text)::{t}[] FROM ({matrices}) q ORDER BY g LIMIT 5",
            $"SELECT ('[0:' || (cardinality(x) - 1) || ']=' || x::text)::{t}[] FROM (SELECT array_agg(v ORDER BY id) x FROM vals GROUP BY id % 5 ORDER BY min(id)) q",
            $"SELECT '{{}}'::{t}[]",
            $"SELECT ARRAY[NULL, NULL]::{t}[]",
        ];

        var failures = new List<string>();
        int compared = 0;
        var text = new StringBuilder();
        foreach (var query in queries)
        {
            var values = await ServerValues.FetchAsync(connection, query);
            for (int i = 0; i < values.Binary.Count; i++)
            {
                var binary = values.Binary[i];
                string? expected = values.Text[i];
                if (binary is null || expected is null)
                {
                    if (binary is not null || expected is not null)
                        failures.Add($"{query} row {i}: NULL in one form only");
                    continue;
                }
                text.Clear();
                bool known;
                try
                {
                    known = PgBinaryText.Format(values.TypeOid, binary, text);
                }
                catch (FormatException ex)
                {
                    failures.Add($"{query} row {i}: threw {ex.Message} for {Convert.ToHexString(binary)}; server: {expected}");
                    continue;
                }
                compared++;
                if (!known)
                    failures.Add($"{query}: type {values.TypeOid} unknown");
                else if (text.ToString() != expected)
                    failures.Add($"{query} row {i}:\n  server: {expected}\n  ours:   {text}\n  binary: {Convert.ToHexString(binary)}");
            }
        }
        Assert.True(failures.Count == 0, $"{failures.Count} of {compared} values differ for {name}:\n" + string.Join("\n", failures.Take(15)));
        Assert.True(compared >= 25, $"only {compared} values compared");
    }

    [Theory]
    [MemberData(nameof(KeyCases))]
    public async Task TryEncodeKey_of_server_text_gives_server_binary(string name)
    {
        var typeCase = TypeCase.All[name];
        await using var connection = await OpenWithValuesAsync(typeCase);
        var values = await ServerValues.FetchAsync(connection, "SELECT v FROM vals ORDER BY id");
        var failures = new List<string>();
        int compared = 0;
        for (int i = 0; i < values.Binary.Count; i++)
        {
            if (values.Text[i] is not { } text)
                continue;
            compared++;
            CheckEncode(values.TypeOid, typeCase.TypeModifier, text, values.Binary[i]!, failures);
        }
        Assert.True(failures.Count == 0, $"{failures.Count} of {compared} keys differ for {name}:\n" + string.Join("\n", failures.Take(15)));
    }

    [Theory]
    [MemberData(nameof(KeyCases))]
    public async Task TryEncodeKey_reads_other_input_forms_as_the_server_does(string name)
    {
        var typeCase = TypeCase.All[name];
        await using var connection = await OpenWithValuesAsync(typeCase);
        var failures = new List<string>();
        foreach (var input in typeCase.KeyInputs)
        {
            var values = await ServerValues.FetchAsync(connection, $"SELECT {Literal(input)}::{typeCase.ColumnType}");
            CheckEncode(values.TypeOid, typeCase.TypeModifier, input, values.Binary[0]!, failures);
        }
        foreach (var input in typeCase.BadKeyInputs)
        {
            var serverError = await Assert.ThrowsAsync<PostgresException>(() => ServerValues.FetchAsync(connection, $"SELECT {Literal(input)}::{typeCase.ColumnType}"));
            uint oid = await OidOfAsync(connection, typeCase.ColumnType);
            var output = new ArrayBufferWriter<byte>();
            if (PgBinaryText.TryEncodeKey(oid, typeCase.TypeModifier, input, output, out _))
                failures.Add($"'{input}': server says \"{serverError.MessageText}\", we encoded {Convert.ToHexString(output.WrittenSpan)}");
            else
                Assert.Equal(0, output.WrittenCount);
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    private static void CheckEncode(uint oid, int typeModifier, string text, byte[] expected, List<string> failures)
    {
        var output = new ArrayBufferWriter<byte>();
        if (!PgBinaryText.TryEncodeKey(oid, typeModifier, text, output, out string? error))
            failures.Add($"'{text}': {error}");
        else if (!output.WrittenSpan.SequenceEqual(expected))
            failures.Add($"'{text}':\n  server: {Convert.ToHexString(expected)}\n  ours:   {Convert.ToHexString(output.WrittenSpan)}");
    }

    private static string Literal(string text) => "'" + text.Replace("'", "''", StringComparison.Ordinal) + "'";

    private static async Task<uint> OidOfAsync(NpgsqlConnection connection, string type)
    {
        await using var command = new NpgsqlCommand($"SELECT '{type}'::regtype::oid", connection);
        return (uint)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>A session with the text settings and a temp table <c>vals(id, v)</c> holding the case's values.</summary>
    private async Task<NpgsqlConnection> OpenWithValuesAsync(TypeCase typeCase)
    {
        _database ??= await _fixture.CreateDatabaseAsync("pgbinarytext");
        var connection = await ServerValues.OpenAsync(_database);
        try
        {
            var sql = new StringBuilder();
            sql.Append("SELECT setseed(0.42);");
            sql.Append($"CREATE TEMP TABLE vals (id serial PRIMARY KEY, v {typeCase.ColumnType});");
            if (typeCase.Literals.Length > 0)
                sql.Append("INSERT INTO vals (v) VALUES ").AppendJoin(", ", typeCase.Literals.Select(l => $"({l})")).Append(';');
            foreach (var generator in typeCase.Generators)
                sql.Append("INSERT INTO vals (v) ").Append(generator).Append(';');
            await using (var command = new NpgsqlCommand(sql.ToString(), connection))
                await command.ExecuteNonQueryAsync();
            if (typeCase.Parameter is not null)
            {
                await using var command = new NpgsqlCommand($"INSERT INTO vals (v) SELECT unnest(@p)::{typeCase.ColumnType}", connection);
                command.Parameters.Add(typeCase.Parameter());
                await command.ExecuteNonQueryAsync();
            }
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }
}
