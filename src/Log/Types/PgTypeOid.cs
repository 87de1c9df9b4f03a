namespace Mammoth.Log.Types;

/// <summary>OIDs of the built-in PostgreSQL types the log formats and encodes (fixed since PostgreSQL 8).</summary>
public static class PgTypeOid
{
    public const uint Bool = 16;
    public const uint Bytea = 17;
    public const uint Char = 18;
    public const uint Name = 19;
    public const uint Int8 = 20;
    public const uint Int2 = 21;
    public const uint Int4 = 23;
    public const uint Text = 25;
    public const uint Oid = 26;
    public const uint Tid = 27;
    public const uint Xid = 28;
    public const uint Cid = 29;
    public const uint Json = 114;
    public const uint Xml = 142;
    public const uint Cidr = 650;
    public const uint Float4 = 700;
    public const uint Float8 = 701;
    public const uint Unknown = 705;
    public const uint MacAddr8 = 774;
    public const uint MacAddr = 829;
    public const uint Inet = 869;
    public const uint Bpchar = 1042;
    public const uint Varchar = 1043;
    public const uint Date = 1082;
    public const uint Time = 1083;
    public const uint Timestamp = 1114;
    public const uint TimestampTz = 1184;
    public const uint Interval = 1186;
    public const uint TimeTz = 1266;
    public const uint Bit = 1560;
    public const uint Varbit = 1562;
    public const uint Numeric = 1700;
    public const uint Uuid = 2950;
    public const uint PgLsn = 3220;
    public const uint Jsonb = 3802;
    public const uint JsonPath = 4072;
    public const uint Xid8 = 5069;

    /// <summary>The element type of a built-in array type, or 0 if <paramref name="arrayOid"/> is not one we know.</summary>
    public static uint ElementOf(uint arrayOid) => arrayOid switch
    {
        1000 => Bool,
        1001 => Bytea,
        1002 => Char,
        1003 => Name,
        1016 => Int8,
        1005 => Int2,
        1007 => Int4,
        1009 => Text,
        1028 => Oid,
        1010 => Tid,
        1011 => Xid,
        1012 => Cid,
        199 => Json,
        143 => Xml,
        651 => Cidr,
        1021 => Float4,
        1022 => Float8,
        775 => MacAddr8,
        1040 => MacAddr,
        1041 => Inet,
        1014 => Bpchar,
        1015 => Varchar,
        1182 => Date,
        1183 => Time,
        1115 => Timestamp,
        1185 => TimestampTz,
        1187 => Interval,
        1270 => TimeTz,
        1561 => Bit,
        1563 => Varbit,
        1231 => Numeric,
        2951 => Uuid,
        3221 => PgLsn,
        3807 => Jsonb,
        4073 => JsonPath,
        271 => Xid8,
        _ => 0,
    };
}
