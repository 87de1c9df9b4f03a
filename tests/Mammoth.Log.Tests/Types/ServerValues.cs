using System.Text;
using Mammoth.Log.Types;
using Npgsql;
using Xunit;

namespace Mammoth.Log.Tests.Types;

/// <summary>One column of a query as PostgreSQL gives it: binary COPY fields and COPY text.</summary>
internal sealed record ServerValues(uint TypeOid, List<byte[]?> Binary, List<string?> Text)
{
    public const string SessionSettings =
        "SET TimeZone = 'UTC'; SET DateStyle = 'ISO'; SET IntervalStyle = 'postgres'; SET extra_float_digits = 1; SET bytea_output = 'hex'";

    public static async Task<NpgsqlConnection> OpenAsync(string connectionString)
    {
        var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(SessionSettings, connection);
        await command.ExecuteNonQueryAsync();
        return connection;
    }

    /// <summary>Runs <paramref name="query"/> (one column) through binary COPY and text COPY.</summary>
    public static async Task<ServerValues> FetchAsync(NpgsqlConnection connection, string query)
    {
        uint oid;
        await using (var command = new NpgsqlCommand($"SELECT * FROM ({query}) q LIMIT 0", connection))
        await using (var reader = await command.ExecuteReaderAsync())
        {
            Assert.Equal(1, reader.FieldCount);
            oid = reader.GetDataTypeOID(0);
        }

        var bytes = new MemoryStream();
        await using (var raw = await connection.BeginRawBinaryCopyAsync($"COPY ({query}) TO STDOUT (FORMAT binary)"))
            await raw.CopyToAsync(bytes);
        var binary = ParseBinaryCopy(bytes.ToArray());

        string all;
        using (var text = await connection.BeginTextExportAsync($"COPY ({query}) TO STDOUT"))
            all = await text.ReadToEndAsync();
        var lines = all.Split('\n');
        Assert.Equal("", lines[^1]);
        var texts = lines[..^1].Select(UnescapeCopyText).ToList();
        Assert.Equal(binary.Count, texts.Count);
        return new ServerValues(oid, binary, texts);
    }

    /// <summary>A whole binary COPY stream (header, one-field tuples, trailer) through CopyBinaryReader.</summary>
    public static List<byte[]?> ParseBinaryCopy(byte[] stream)
    {
        var values = new List<byte[]?>();
        var reader = new CopyBinaryReader(stream);
        Assert.Equal(CopyBinaryStatus.Done, reader.ReadHeader());
        while (true)
        {
            var status = reader.ReadTuple(out var tuple);
            if (status == CopyBinaryStatus.End)
                break;
            Assert.Equal(CopyBinaryStatus.Done, status);
            Assert.Equal(1, tuple.FieldCount);
            foreach (var field in tuple)
                values.Add(field.IsNull ? null : field.Value.ToArray());
        }
        Assert.Equal(stream.Length, reader.Consumed);
        return values;
    }

    /// <summary>COPY text: \N is NULL; \\ \b \f \n \r \t \v are escapes.</summary>
    public static string? UnescapeCopyText(string field)
    {
        if (field == "\\N")
            return null;
        if (!field.Contains('\\', StringComparison.Ordinal))
            return field;
        var result = new StringBuilder(field.Length);
        for (int i = 0; i < field.Length; i++)
        {
            char c = field[i];
            if (c != '\\' || i + 1 == field.Length)
            {
                result.Append(c);
                continue;
            }
            char e = field[++i];
            result.Append(e switch
            {
                'b' => '\b',
                'f' => '\f',
                'n' => '\n',
                'r' => '\r',
                't' => '\t',
                'v' => '\v',
                _ => e,
            });
        }
        return result.ToString();
    }
}
