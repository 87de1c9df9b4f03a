using System.Text;

namespace Mammoth.Log.Types;

// inet and cidr output (network.c, inet_net_ntop.c).
public static partial class PgBinaryText
{
    private const byte PgsqlAfInet = 2;  // AF_INET + 0
    private const byte PgsqlAfInet6 = 3; // AF_INET + 1

    /// <summary>
    /// inet_send: <c>family u8 | bits u8 | is_cidr u8 | address length u8 | address</c>.
    /// inet prints "/bits" only when it is not the full length; cidr always does.
    /// </summary>
    private static void AppendInet(StringBuilder output, ReadOnlySpan<byte> value, bool isCidr)
    {
        if (value.Length < 4)
            ThrowFormat(isCidr ? "cidr" : "inet", "is shorter than its 4-byte header");
        byte family = value[0];
        int bits = value[1];
        int length = value[3];
        var address = value[4..];
        int maxBits = family switch
        {
            PgsqlAfInet => 32,
            PgsqlAfInet6 => 128,
            _ => -1,
        };
        if (maxBits < 0 || length != maxBits / 8 || address.Length != length || bits > maxBits)
            ThrowFormat(isCidr ? "cidr" : "inet", "has a bad family, length or mask");

        if (family == PgsqlAfInet)
        {
            for (int i = 0; i < 4; i++)
            {
                if (i > 0)
                    output.Append('.');
                AppendInvariant(output, address[i]);
            }
        }
        else
        {
            AppendIPv6(output, address);
        }
        if (bits != maxBits || isCidr)
        {
            output.Append('/');
            AppendInvariant(output, bits);
        }
    }

    /// <summary>inet_net_ntop_ipv6: the longest run (2+) of zero words as "::", lower-case hex,
    /// and the embedded IPv4 forms ::a.b.c.d and ::ffff:a.b.c.d.</summary>
    private static void AppendIPv6(StringBuilder output, ReadOnlySpan<byte> address)
    {
        Span<int> words = stackalloc int[8];
        for (int i = 0; i < 8; i++)
            words[i] = address[2 * i] << 8 | address[2 * i + 1];

        int bestBase = -1, bestLength = 0, currentBase = -1, currentLength = 0;
        for (int i = 0; i < 8; i++)
        {
            if (words[i] == 0)
            {
                if (currentBase == -1)
                {
                    currentBase = i;
                    currentLength = 1;
                }
                else
                {
                    currentLength++;
                }
            }
            else if (currentBase != -1)
            {
                if (bestBase == -1 || currentLength > bestLength)
                {
                    bestBase = currentBase;
                    bestLength = currentLength;
                }
                currentBase = -1;
            }
        }
        if (currentBase != -1 && (bestBase == -1 || currentLength > bestLength))
        {
            bestBase = currentBase;
            bestLength = currentLength;
        }
        if (bestBase != -1 && bestLength < 2)
            bestBase = -1;

        for (int i = 0; i < 8; i++)
        {
            if (bestBase != -1 && i >= bestBase && i < bestBase + bestLength)
            {
                if (i == bestBase)
                    output.Append(':');
                continue;
            }
            if (i != 0)
                output.Append(':');
            if (i == 6 && bestBase == 0 && (bestLength == 6 || (bestLength == 7 && words[7] != 0x0001) || (bestLength == 5 && words[5] == 0xffff)))
            {
                for (int b = 12; b < 16; b++)
                {
                    if (b > 12)
                        output.Append('.');
                    AppendInvariant(output, address[b]);
                }
                break;
            }
            AppendInvariant(output, words[i], "x");
        }
        if (bestBase != -1 && bestBase + bestLength == 8)
            output.Append(':');
    }
}
