using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Mammoth.Net.Protocol;

/// <summary>
/// Challenge-response with HMAC-SHA256, so <c>mcp_authkey</c> never crosses the wire and each side proves
/// it knows it: the client's MAC covers both nonces and what it claims to be; the MCP's proof covers the
/// nonces in the other order under another label, so a MAC cannot be reflected back as a proof.
/// </summary>
public static class Authentication
{
    private static readonly byte[] ClientLabel = "MAMMOTH-CLIENT-v1"u8.ToArray();
    private static readonly byte[] ServerLabel = "MAMMOTH-SERVER-v1"u8.ToArray();

    public static byte[] NewNonce() => RandomNumberGenerator.GetBytes(Messages.NonceSize);

    public static byte[] ClientMac(string authKey, byte[] serverNonce, byte[] clientNonce, NodeRole role, short slaveNo, ulong systemId)
    {
        Span<byte> tail = stackalloc byte[1 + 2 + 8];
        tail[0] = (byte)role;
        BinaryPrimitives.WriteInt16BigEndian(tail[1..], slaveNo);
        BinaryPrimitives.WriteUInt64BigEndian(tail[3..], systemId);
        return Mac(authKey, ClientLabel, serverNonce, clientNonce, tail);
    }

    public static byte[] ServerProof(string authKey, byte[] serverNonce, byte[] clientNonce) =>
        Mac(authKey, ServerLabel, clientNonce, serverNonce, []);

    /// <summary>Constant-time comparison.</summary>
    public static bool Matches(byte[] expected, byte[] actual) =>
        expected.Length == actual.Length && CryptographicOperations.FixedTimeEquals(expected, actual);

    private static byte[] Mac(string authKey, byte[] label, byte[] a, byte[] b, ReadOnlySpan<byte> tail)
    {
        byte[] key = Encoding.UTF8.GetBytes(authKey);
        using var h = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, key);
        h.AppendData(label);
        h.AppendData(a);
        h.AppendData(b);
        h.AppendData(tail);
        CryptographicOperations.ZeroMemory(key);
        return h.GetHashAndReset();
    }
}
