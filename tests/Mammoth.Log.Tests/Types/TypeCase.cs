using Npgsql;
using NpgsqlTypes;

namespace Mammoth.Log.Tests.Types;

/// <summary>
/// Values of one column type for the server comparison: SQL literals, generating queries and
/// client-made parameters fill <c>vals(id serial, v ColumnType)</c>; key types also list input
/// texts the encoder must read as the server does, and texts both must reject.
/// </summary>
internal sealed record TypeCase(string ColumnType)
{
    public string[] Literals { get; init; } = [];
    public string[] Generators { get; init; } = [];
    public Func<NpgsqlParameter>? Parameter { get; init; }
    public bool IsKey { get; init; }
    public int TypeModifier { get; init; } = -1;
    public string[] KeyInputs { get; init; } = [];
    public string[] BadKeyInputs { get; init; } = [];

    // Lazy: Build reads the static arrays below, which are initialised after this field otherwise.
    private static readonly Lazy<Dictionary<string, TypeCase>> s_all = new(Build);

    public static Dictionary<string, TypeCase> All => s_all.Value;

    private static Dictionary<string, TypeCase> Build()
    {
        var random = new Random(20240607);
        return new Dictionary<string, TypeCase>
        {
            ["bool"] = new("bool")
            {
                Literals = ["true", "false", "NULL"],
                Generators = ["SELECT CASE WHEN random() < 0.1 THEN NULL ELSE random() < 0.5 END FROM generate_series(1, 60)"],
                IsKey = true,
                KeyInputs = ["TRUE", "yes", "on", "1", "f", "of", "off", "N", " t ", "tru", "Y", "0", "FaLsE"],
                BadKeyInputs = ["o", "maybe", "", "truee", "2", "yess"],
            },
            ["int2"] = new("int2")
            {
                Literals = ["-32768", "32767", "0", "1", "-1", "NULL"],
                Generators = ["SELECT (floor(random() * 65536) - 32768)::int2 FROM generate_series(1, 300)"],
                IsKey = true,
                KeyInputs = [" 42 ", "+7", "-0", "007", "-32768", "\t12\n"],
                BadKeyInputs = ["", "1.5", "32768", "-32769", "abc", "1e3", "- 1", "+"],
            },
            ["int4"] = new("int4")
            {
                Literals = ["-2147483648", "2147483647", "0", "NULL"],
                Generators = ["SELECT (floor(random() * 4294967296) - 2147483648)::int4 FROM generate_series(1, 300)"],
                IsKey = true,
                KeyInputs = [" 42 ", "+7", "-2147483648", "2147483647", "000000000000000000001"],
                BadKeyInputs = ["2147483648", "-2147483649", "1 2", "0x10"],
            },
            ["int8"] = new("int8")
            {
                Literals = ["-9223372036854775808", "9223372036854775807", "0", "NULL"],
                Generators = ["SELECT floor((random() - 0.5) * 1.8e19)::int8 FROM generate_series(1, 300)"],
                IsKey = true,
                KeyInputs = ["-9223372036854775808", "9223372036854775807", " -5 "],
                BadKeyInputs = ["9223372036854775808", "-9223372036854775809", "99999999999999999999"],
            },
            ["oid"] = new("oid")
            {
                Literals = ["0", "4294967295", "NULL"],
                Generators = ["SELECT floor(random() * 4294967296)::int8::oid FROM generate_series(1, 200)"],
                IsKey = true,
                KeyInputs = ["-1", " 12 ", "-2147483648", "4294967295"],
                BadKeyInputs = ["4294967296", "x", "-2147483649"],
            },
            ["float4"] = new("float4")
            {
                Literals = ["'NaN'", "'Infinity'", "'-Infinity'", "0", "'-0'", "'1e-45'", "'1.4e-45'", "'3.4028235e38'", "'1e6'", "999999", "0.0001",
                    "0.00001", "123456", "1234567", "0.1", "16777216", "-2.5", "'1.17549435e-38'", "NULL"],
                Parameter = () => new NpgsqlParameter("p", NpgsqlDbType.Array | NpgsqlDbType.Real) { Value = RandomFloats(random, 600) },
            },
            ["float8"] = new("float8")
            {
                Literals = ["'NaN'", "'Infinity'", "'-Infinity'", "0", "'-0'", "'5e-324'", "'1.7976931348623157e308'", "'2.2250738585072014e-308'",
                    "1e15", "1e16", "123456789012345", "1234567890123456", "0.0001", "0.00001", "0.1", "1.0/3", "100", "-1e-5", "'9007199254740993'", "NULL"],
                Parameter = () => new NpgsqlParameter("p", NpgsqlDbType.Array | NpgsqlDbType.Double) { Value = RandomDoubles(random, 1500) },
            },
            ["numeric"] = new("numeric")
            {
                Literals = ["'NaN'", "'Infinity'", "'-Infinity'", "0", "0.0", "-0.000", "1", "-1", "0.1", "0.0001", "0.00001", "123456789.123456789",
                    "1e100", "1e-100", "-1e-100", "9999.9999", "10000", "10000.0001", "1.50", "100", "1e3", "0.000100", "12345678", "-0.5",
                    "repeat('9', 600)::numeric", "('0.' || repeat('0', 300) || '1')::numeric", "power(10::numeric, 1000)", "(1::numeric / 3)", "NULL"],
                Generators = ["SELECT round((random() - 0.5)::numeric * 10::numeric ^ (floor(random() * 40) - 20)::int, (random() * 25)::int) FROM generate_series(1, 200)"],
                Parameter = () => new NpgsqlParameter("p", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = RandomDecimals(random, 300) },
                IsKey = true,
                KeyInputs = ["1e3", "1.5E-3", " 12.50 ", "+0.0", "-0", ".5", "5.", "nan", "INFINITY", "-Infinity", "00012.3400", "1e-3", "12e+2", "0e10",
                    "123.456e1", "-0.0001e4", "99999999.99999999", "1.00000000000000000000000000000001"],
                BadKeyInputs = ["", "1.2.3", "e5", "abc", "1e", "--1", "1 2"],
            },
            ["numeric(12,3)"] = new("numeric(12,3)")
            {
                Literals = ["1.23456", "5", "-0.0005", "0.0004", "999999999.9994", "123456789.123", "-0.0015", "NULL"],
                Generators = ["SELECT (random() - 0.5) * 1e6 FROM generate_series(1, 100)"],
                IsKey = true,
                TypeModifier = (12 << 16 | 3) + 4,
                KeyInputs = ["1.23456", "5", "-0.0005", "2.5e-3", "0.0004", "999999999.9994", "-99999999.9995e0", "NaN"],
                BadKeyInputs = ["1e9", "999999999.9995", "-999999999.9995e0", "Infinity", "x"],
            },
            ["text"] = new("text")
            {
                Literals = ["''", "'NULL'", "'null'", "E'a\\\\b'", "'\"'", "'{}'", "'a,b'", "' lead'", "'trail '", "E'tab\\there'", "E'new\\nline'", "E'\\r'",
                    "'é中😀'", "'plain'", "E'\\\\N'", "E'\\x01ctl'", "'{\"a\"}'", "NULL"],
                Parameter = () => new NpgsqlParameter("p", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = RandomStrings(random, 400, 30) },
                IsKey = true,
                KeyInputs = ["", "  spaced  ", "é中😀", "NULL"],
            },
            ["varchar"] = new("varchar")
            {
                Literals = ["''", "'x y'", "NULL"],
                Parameter = () => new NpgsqlParameter("p", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = RandomStrings(random, 200, 20) },
                IsKey = true,
                KeyInputs = ["abc", "trailing  "],
            },
            ["char(12)"] = new("char(12)")
            {
                Literals = ["''", "'a'", "'exactly12chr'", "'with space  '", "'é中😀'", "NULL"],
                Parameter = () => new NpgsqlParameter("p", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = RandomStrings(random, 200, 12) },
                IsKey = true,
                TypeModifier = 12 + 4,
                KeyInputs = ["ab", "ab   ", "", "exactly12chr     ", "é中😀"],
                // An explicit cast truncates silently, so over-long text ("abcdefghijklmn") cannot be checked
                // against the server here; the encoder rejects it as an INSERT would.
            },
            ["bpchar"] = new("bpchar")
            {
                Literals = ["''", "'a  '", "NULL"],
                Parameter = () => new NpgsqlParameter("p", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = RandomStrings(random, 100, 20) },
                IsKey = true,
                KeyInputs = ["keeps trailing   "],
            },
            ["name"] = new("name")
            {
                Literals = ["''", "repeat('x', 100)", "repeat('é', 40)", "repeat('a', 62) || 'é'", "NULL"],
                Parameter = () => new NpgsqlParameter("p", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = RandomStrings(random, 100, 40) },
                IsKey = true,
                KeyInputs = [new string('x', 100), new string('é', 40), new string('a', 62) + "é", new string('a', 61) + "😀", "pg_class"],
            },
            ["\"char\""] = new("\"char\"")
            {
                Generators = ["SELECT i::\"char\" FROM generate_series(-128, 127) i"],
                Literals = ["NULL"],
            },
            ["bytea"] = new("bytea")
            {
                Literals = ["'\\x'", "'\\x00ff'", "NULL"],
                Generators = ["SELECT decode(repeat(md5(i::text), i % 4), 'hex') FROM generate_series(1, 200) i"],
            },
            ["date"] = new("date")
            {
                Literals = ["'infinity'", "'-infinity'", "'2000-01-01'", "'1970-01-01'", "'0001-01-01'", "'0001-12-31 BC'", "'2000-02-29'", "'1900-02-28'",
                    "'4714-11-24 BC'", "'5874897-12-31'", "'0044-03-15 BC'", "'1999-12-31'", "NULL"],
                Generators = ["SELECT date '4714-11-24 BC' + floor(random() * 2147480000)::int FROM generate_series(1, 200)",
                    "SELECT date '2000-01-01' + floor((random() - 0.5) * 2000000)::int FROM generate_series(1, 200)"],
                IsKey = true,
                KeyInputs = ["epoch", "infinity", "-infinity", "2000-1-2", "0044-03-15 BC", " 2024-02-29 ", "5874897-12-31", "4714-11-24 BC", "0005-02-29 BC",
                    "0001-02-29 BC", "001-01-01", "0001-01-01 AD", "012-01-01 BC"],
                BadKeyInputs = ["2023-02-29", "2000-13-01", "0000-01-01", "4714-11-23 BC", "5874898-01-01", "x", "2000-01-00", "0002-02-29 BC", "0004-02-29 BC", "000-01-01", "0000-01-01 BC"],
            },
            ["time"] = new("time")
            {
                Literals = ["'24:00:00'", "'23:59:59.999999'", "'00:00:00.000001'", "'12:00:00.5'", "'00:00:00'", "NULL"],
                Generators = ["SELECT time '00:00' + floor(random() * 86400000000)::int8 * interval '1 microsecond' FROM generate_series(1, 200)",
                    "SELECT time '00:00' + floor(random() * 86400)::int * interval '1 second' FROM generate_series(1, 50)"],
            },
            ["timetz"] = new("timetz")
            {
                Literals = ["'24:00:00+00'", "'00:00:00-15:59'", "'12:34:56.789+05:30'", "'01:02:03-12:34:56'", "'23:59:59.999999+15:59'", "NULL"],
                Generators = ["SELECT ((time '00:00' + floor(random() * 86400000000)::int8 * interval '1 microsecond')::text || z)::timetz " +
                    "FROM generate_series(1, 40), unnest(ARRAY['+00', '+05:30', '-08', '+14', '-12:34:56', '+00:00:01']) z"],
            },
            ["timestamp"] = new("timestamp")
            {
                Literals = TimestampLiterals,
                Generators = TimestampGenerators("timestamp"),
                IsKey = true,
                KeyInputs = ["2000-01-01T12:34:56", "2000-01-01 12:34", "2000-01-01", "2000-01-01 00:00:00.1234567", "2000-01-01 23:59:59.9999995", "epoch",
                    "infinity", "-infinity", "0044-03-15 12:00:00 BC", "2000-01-01 00:00:00+05", "294276-12-31 23:59:59.999999", "4714-11-24 00:00:00 BC",
                    "2000-01-01 24:00:00", "1999-12-31 23:59:60", "2000-01-01 1:02:03"],
                BadKeyInputs = ["294277-01-01 00:00:00", "2000-01-01 25:00:00", "2000-01-01 24:00:01", "foo", "2000-01-01 12", "4714-11-23 23:59:59 BC"],
            },
            ["timestamptz"] = new("timestamptz")
            {
                Literals = TimestampLiterals,
                Generators = TimestampGenerators("timestamptz"),
                IsKey = true,
                KeyInputs = ["2000-01-01 00:00:00+05:30", "2000-01-01 00:00:00-08", "2000-01-01 00:00:00Z", "2000-01-01T00:00:00.5+0100",
                    "2000-01-01 00:00:00 UTC", "0044-03-15 12:00:00+00 BC", "2000-01-01 00:00:00+01:02:03", "2000-01-01 00:00:00", "epoch", "infinity",
                    "2000-01-01 00:00:00 +02", "1970-01-01 00:00:00-15:59"],
                BadKeyInputs = ["2000-01-01 00:00:00+16", "2000-01-01 00:00:00+05:60", "nonsense"],
            },
            ["interval"] = new("interval")
            {
                Literals = ["'0'", "'-1 day +02:00'", "'1 year 2 mons'", "'-00:00:00.000001'", "'178000000 years'", "'-178000000 years'", "'2147483647 days'",
                    "'-2147483648 days'", "'2562047788:00:54.775807'", "'-2562047788:00:54.775807'", "'1 mon -1 day'", "'-1 mon +1 day -00:00:01'",
                    "'1 day'", "'1 year'", "'-1 years -1 mons'", "'00:00:01'", "'01:00:00'", "NULL"],
                Generators = ["SELECT make_interval(floor((random() - 0.5) * 200)::int, floor((random() - 0.5) * 30)::int, 0, floor((random() - 0.5) * 80)::int, " +
                    "floor((random() - 0.5) * 60)::int, floor((random() - 0.5) * 120)::int, round(((random() - 0.5) * 200)::numeric, 6)::float8) FROM generate_series(1, 200)",
                    "SELECT interval '1 microsecond' * floor((random() - 0.5) * 1e14) FROM generate_series(1, 100)",
                    "SELECT make_interval(0, 0, 0, CASE WHEN random() < 0.5 THEN 0 ELSE 1 END, floor(random() * 3)::int) FROM generate_series(1, 30)"],
            },
            ["uuid"] = new("uuid")
            {
                Literals = ["'00000000-0000-0000-0000-000000000000'", "'ffffffff-ffff-ffff-ffff-ffffffffffff'", "NULL"],
                Generators = ["SELECT gen_random_uuid() FROM generate_series(1, 300)"],
                IsKey = true,
                KeyInputs = ["A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11", "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}", "a0eebc999c0b4ef8bb6d6bb9bd380a11",
                    "a0ee-bc99-9c0b-4ef8-bb6d-6bb9-bd38-0a11", "{a0eebc999c0b4ef8bb6d6bb9bd380a11}"],
                BadKeyInputs = ["a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1", "g0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "{a0eebc999c0b4ef8bb6d6bb9bd380a11",
                    "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11-", "a0e-ebc999c0b4ef8bb6d6bb9bd380a11", " a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"],
            },
            ["json"] = new("json")
            {
                Literals = ["'{\"a\": [1, 2.50, \"x\\\"y\"], \"ü\": null}'", "'[]'", "'\"str\"'", "'  {\"spaces\" :  true }  '", "NULL"],
                Generators = ["SELECT json_build_object('i', i, 's', md5(i::text) || E'\\n\"\\\\é😀', 'a', json_build_array(i, NULL, 1.5e10)) FROM generate_series(1, 100) i"],
            },
            ["jsonb"] = new("jsonb")
            {
                Literals = ["'{\"a\": 1.000, \"b\": [true, false, null], \"c\": \"\\u00e9\\n😀\"}'", "'[]'", "'{}'", "'\"str\"'", "'12.50'", "NULL"],
                Generators = ["SELECT jsonb_build_object('i', i, 's', md5(i::text) || E'\\t\"\\\\中', 'n', (random() * 1e6)::numeric(12, 4), 'o', jsonb_build_object('x', NULL)) FROM generate_series(1, 150) i"],
            },
            ["inet"] = new("inet")
            {
                Literals = InetLiterals,
                Generators = InetGenerators,
            },
            ["cidr"] = new("cidr")
            {
                Literals = ["'192.168.1.0/24'", "'10.0.0.0/8'", "'0.0.0.0/0'", "'1.2.3.4/32'", "'2001:db8::/32'", "'::/0'", "'::1/128'", "'::ffff:1.2.3.0/120'", "NULL"],
                Generators = InetGenerators,
            },
            ["macaddr"] = new("macaddr")
            {
                Literals = ["'08:00:2b:01:02:03'", "'FF-FF-FF-FF-FF-FF'", "'000000000000'", "NULL"],
                Generators = ["SELECT ('08:00:2b:' || lpad(to_hex(i), 2, '0') || ':' || lpad(to_hex((random() * 255)::int), 2, '0') || ':0a')::macaddr FROM generate_series(1, 60) i"],
            },
            ["macaddr8"] = new("macaddr8")
            {
                Literals = ["'08:00:2b:01:02:03:04:05'", "'08:00:2b:01:02:03'", "NULL"],
                Generators = ["SELECT ('08:00:2b:' || lpad(to_hex(i), 2, '0') || ':01:02:03:04')::macaddr8 FROM generate_series(1, 40) i"],
            },
            ["bit(12)"] = new("bit(12)")
            {
                Literals = ["B'101010101010'", "B'000000000000'", "NULL"],
                Generators = ["SELECT floor(random() * 4096)::int::bit(12) FROM generate_series(1, 60)"],
            },
            ["varbit"] = new("varbit")
            {
                Literals = ["B''", "B'1'", "NULL"],
                Generators = ["SELECT substring(('x' || md5(i::text))::bit(128) from 1 for i % 40)::varbit FROM generate_series(1, 80) i"],
            },
            ["tid"] = new("tid")
            {
                Literals = ["'(0,1)'", "'(4294967295,65535)'", "NULL"],
                Generators = ["SELECT format('(%s,%s)', i * 1000, i % 65536)::tid FROM generate_series(1, 40) i"],
            },
            ["xid"] = new("xid")
            {
                Literals = ["'0'", "'4294967295'", "NULL"],
                Generators = ["SELECT (i * 104729)::text::xid FROM generate_series(1, 40) i"],
            },
            ["xid8"] = new("xid8")
            {
                Literals = ["'0'", "'18446744073709551615'", "NULL"],
                Generators = ["SELECT (i * 1000003)::text::xid8 FROM generate_series(1, 40) i"],
            },
            ["pg_lsn"] = new("pg_lsn")
            {
                Literals = ["'0/0'", "'FFFFFFFF/FFFFFFFF'", "'16/B374D848'", "NULL"],
                Generators = ["SELECT format('%s/%s', to_hex(i * 7919), to_hex(i * 104729))::pg_lsn FROM generate_series(1, 40) i"],
            },
            ["xml"] = new("xml")
            {
                Literals = ["'<a b=\"1\">x &amp; y</a>'", "'text only'", "NULL"],
                Generators = ["SELECT format('<r i=\"%s\">%s</r>', i, md5(i::text))::xml FROM generate_series(1, 30) i"],
            },
        };
    }

    private static readonly string[] TimestampLiterals =
    [
        "'infinity'", "'-infinity'", "'2000-01-01 00:00:00'", "'1970-01-01 00:00:00'", "'1999-12-31 23:59:59.999999'", "'2000-01-01 00:00:00.000001'",
        "'0044-03-15 12:00:00 BC'", "'0001-01-01 00:00:00'", "'0001-12-31 23:59:59.999999 BC'", "'294276-12-31 23:59:59.999999'",
        "'4714-11-24 00:00:00 BC'", "'2000-02-29 12:30:00.5'", "NULL",
    ];

    private static string[] TimestampGenerators(string type) =>
    [
        $"SELECT ({type} '4714-11-24 00:00:00 BC' + random() * interval '106000000 days') FROM generate_series(1, 200)",
        $"SELECT ({type} '2000-01-01 00:00:00' + (random() - 0.5) * interval '2 days') FROM generate_series(1, 100)",
        $"SELECT ({type} '1970-01-01 00:00:00' + (random() - 0.5) * interval '1 hour') FROM generate_series(1, 50)",
        $"SELECT ({type} '0001-01-01 00:00:00' + (random() - 0.5) * interval '1000 days') FROM generate_series(1, 50)",
    ];

    private static readonly string[] InetLiterals =
    [
        "'192.168.1.1'", "'192.168.1.0/24'", "'10.0.0.1/8'", "'0.0.0.0'", "'255.255.255.255/0'", "'::1'", "'::'", "'2001:db8::1'", "'2001:db8::/32'",
        "'::ffff:1.2.3.4'", "'::1.2.3.4'", "'fe80::1:2:3:4/64'", "'1:0:0:1:0:0:0:1'", "'1::1:0:0:1'", "'0:0:0:0:0:0:0:1'", "'1:2:3:4:5:6:7:8'",
        "'1:0:2:0:3:0:4:0'", "'::ffff:0:1.2.3.4'", "'::0:1.2.3.4'", "'0:0:0:0:0:ffff:0102:0304/100'", "'1::'", "'1:2::'", "NULL",
    ];

    // Inserting into a cidr column casts with inet_to_cidr, which clears the host bits.
    private static readonly string[] InetGenerators =
    [
        "SELECT set_masklen(format('%s.%s.%s.%s', (random() * 255)::int, (random() * 255)::int, (random() * 255)::int, (random() * 255)::int)::inet, " +
            "(random() * 32)::int) FROM generate_series(1, 80)",
        "SELECT set_masklen(array_to_string(ARRAY(SELECT CASE WHEN random() < 0.5 THEN '0' ELSE to_hex((random() * 65535)::int) END " +
            "FROM generate_series(1, 8) WHERE g > 0), ':')::inet, (random() * 128)::int) FROM generate_series(1, 150) g",
    ];

    private static float[] RandomFloats(Random random, int count)
    {
        var result = new float[count];
        for (int i = 0; i < count; i++)
        {
            float f;
            do
            {
                f = i % 2 == 0
                    ? BitConverter.Int32BitsToSingle(random.Next() ^ (random.Next() << 1))
                    : (float)((random.NextDouble() - 0.5) * Math.Pow(10, random.Next(-12, 12)));
            }
            while (float.IsNaN(f));
            result[i] = f;
        }
        return result;
    }

    private static double[] RandomDoubles(Random random, int count)
    {
        var result = new double[count];
        for (int i = 0; i < count; i++)
        {
            double d;
            do
            {
                d = (i % 3) switch
                {
                    0 => BitConverter.Int64BitsToDouble(random.NextInt64() ^ (random.NextInt64() << 1)),
                    1 => (random.NextDouble() - 0.5) * Math.Pow(10, random.Next(-30, 30)),
                    _ => Math.Round(random.NextDouble() * 1000, random.Next(0, 6)) * Math.Pow(10, random.Next(-8, 20)),
                };
            }
            while (double.IsNaN(d));
            result[i] = d;
        }
        return result;
    }

    private static string[] RandomDecimals(Random random, int count)
    {
        var result = new string[count];
        for (int i = 0; i < count; i++)
        {
            var text = new System.Text.StringBuilder();
            if (random.Next(3) == 0)
                text.Append('-');
            int integer = random.Next(0, 30);
            for (int d = 0; d < integer; d++)
                text.Append((char)('0' + (random.Next(4) == 0 ? 0 : random.Next(10))));
            if (integer == 0)
                text.Append('0');
            int fraction = random.Next(0, 30);
            if (fraction > 0)
            {
                text.Append('.');
                for (int d = 0; d < fraction; d++)
                    text.Append((char)('0' + (random.Next(3) == 0 ? 0 : random.Next(10))));
            }
            result[i] = text.ToString();
        }
        return result;
    }

    private static string[] RandomStrings(Random random, int count, int maxLength)
    {
        string[] pool = ["a", "b", "Z", "0", " ", "\t", "\n", "\r", "\"", "\\", "{", "}", ",", "'", "é", "中", "😀", "\u0001", "NULL", "x", "y", ";", "=", "[", "]", ":"];
        var result = new string[count];
        for (int i = 0; i < count; i++)
        {
            var text = new System.Text.StringBuilder();
            int length = random.Next(0, maxLength + 1);
            while (text.Length < length)
            {
                string piece = pool[random.Next(pool.Length)];
                if (text.Length + piece.Length > length && piece.Length > 1)
                    continue;
                text.Append(piece);
            }
            // Fixed-length columns cut trailing spaces and reject over-long text: keep within bounds in characters.
            result[i] = text.ToString();
        }
        result[0] = "NULL";
        result[1] = "";
        result[2] = "null";
        return result;
    }
}
