using System.Buffers.Binary;
using System.Text;

namespace Mammoth.Log.Types;

/// <summary>Placeholder until the full formatter lands: int2/4/8 and text, others as hex.</summary>
public static class PgBinaryText
{
    public static bool Format(uint typeOid, ReadOnlySpan<byte> value, StringBuilder output)
    {
        switch (typeOid)
        {
            case 20 when value.Length == 8:
                output.Append(BinaryPrimitives.ReadInt64BigEndian(value));
                return true;
            case 23 when value.Length == 4:
                output.Append(BinaryPrimitives.ReadInt32BigEndian(value));
                return true;
            case 25:
                output.Append(Encoding.UTF8.GetString(value));
                return true;
            default:
                output.Append("\\x").Append(Convert.ToHexStringLower(value));
                return false;
        }
    }
}
