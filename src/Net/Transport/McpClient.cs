using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Mammoth.Net.Protocol;

namespace Mammoth.Net.Transport;

/// <summary>How a node reaches the MCP.</summary>
public sealed class McpClientOptions
{
    public required string Host { get; init; }
    public required int Port { get; init; }
    public required string AuthKey { get; init; }
    public required NodeRole Role { get; init; }
    public short SlaveNo { get; init; } = -1;
    /// <summary>The node's PostgreSQL system identifier (SELECT system_identifier FROM pg_control_system()).</summary>
    public ulong SystemId { get; init; }
    public string Name { get; init; } = Environment.MachineName;
    /// <summary>replication_mcp_require_ssl: refuse to talk to the MCP without TLS.</summary>
    public bool RequireSsl { get; init; }
    /// <summary>Optional CA certificates (PEM) the MCP's certificate must chain to.</summary>
    public string? SslCaFile { get; init; }
    public int MaxFramePayload { get; init; } = 64 * 1024 * 1024;
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>Local address to connect from (tests of mcp_slave_addresses use 127.0.0.x).</summary>
    public System.Net.IPAddress? LocalAddress { get; init; }
}

/// <summary>The MCP refused us with an ERROR frame; the message is the MCP's sentence.</summary>
public sealed class McpRefusedException(ErrorCode code, string message) : Exception(message)
{
    public ErrorCode Code { get; } = code;
}

/// <summary>The client side of the handshake: HELLO → [TLS] → CHALLENGE → AUTH → WELCOME.</summary>
public static class McpClient
{
    /// <summary>
    /// Connects, authenticates and checks the MCP's proof. Throws <see cref="McpRefusedException"/> when the
    /// MCP says no, <see cref="ProtocolException"/> when it is not a MammothFast MCP or fails its proof, and
    /// <see cref="SocketException"/>/<see cref="IOException"/> for network trouble.
    /// </summary>
    public static async Task<(FrameConnection Connection, Welcome Welcome)> ConnectAsync(McpClientOptions o, CancellationToken ct = default)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(o.ConnectTimeout);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        FrameConnection? conn = null;
        try
        {
            if (o.LocalAddress is not null)
                socket.Bind(new IPEndPoint(o.LocalAddress, 0));
            await socket.ConnectAsync(o.Host, o.Port, cts.Token).ConfigureAwait(false);
            conn = new FrameConnection(socket, o.MaxFramePayload);
            var w = new ArrayBufferWriter<byte>(256);
            Messages.Write(w, new Hello(o.Role, o.SlaveNo, o.RequireSsl, o.SystemId, o.Name));
            await conn.WriteRawAsync(w.WrittenMemory, cts.Token).ConfigureAwait(false);
            if (o.RequireSsl)
            {
                (FrameType t, ReadOnlySequence<byte> p) = await conn.ReadRawAsync(cts.Token).ConfigureAwait(false);
                ThrowIfError(t, p);
                if (t != FrameType.TlsAccept)
                    throw new ProtocolException(ErrorCode.Protocol, $"expected TLS_ACCEPT from the MCP, got frame type {(byte)t}");
                X509Certificate2Collection? roots = null;
                if (o.SslCaFile is not null)
                {
                    roots = [];
                    roots.ImportFromPemFile(o.SslCaFile);
                }
                await conn.UpgradeToTlsAsClientAsync(o.Host, roots, cts.Token).ConfigureAwait(false);
            }
            conn.StartPipes();

            ReceivedFrame f = await conn.ReadFrameAsync(cts.Token).ConfigureAwait(false);
            ThrowIfEnd(f);
            ThrowIfError(f.Type, f.Payload);
            Expect(f, FrameType.Challenge);
            Challenge challenge = Messages.ReadChallenge(f.Payload);
            conn.Consume(f);

            byte[] clientNonce = Authentication.NewNonce();
            byte[] mac = Authentication.ClientMac(o.AuthKey, challenge.ServerNonce, clientNonce, o.Role, o.SlaveNo, o.SystemId);
            await conn.SendAsync(new Auth(clientNonce, mac), static (bw, m) => Messages.Write(bw, m), cts.Token).ConfigureAwait(false);

            f = await conn.ReadFrameAsync(cts.Token).ConfigureAwait(false);
            ThrowIfEnd(f);
            ThrowIfError(f.Type, f.Payload);
            Expect(f, FrameType.Welcome);
            Welcome welcome = Messages.ReadWelcome(f.Payload);
            conn.Consume(f);
            if (!Authentication.Matches(Authentication.ServerProof(o.AuthKey, challenge.ServerNonce, clientNonce), welcome.Proof))
                throw new ProtocolException(ErrorCode.AuthFailed, $"the MCP at {o.Host}:{o.Port} did not prove that it knows the authkey; check replication_mcp_address and replication_mcp_authkey");
            return (conn, welcome);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            if (conn is not null)
                await conn.DisposeAsync().ConfigureAwait(false);
            else
                socket.Dispose();
            throw new TimeoutException($"the MCP at {o.Host}:{o.Port} did not complete the handshake within {o.ConnectTimeout.TotalSeconds:0} s");
        }
        catch
        {
            if (conn is not null)
                await conn.DisposeAsync().ConfigureAwait(false);
            else
                socket.Dispose();
            throw;
        }
    }

    private static void ThrowIfEnd(in ReceivedFrame f)
    {
        if (f.IsEnd)
            throw new IOException("the MCP closed the connection during the handshake");
    }

    private static void ThrowIfError(FrameType t, in ReadOnlySequence<byte> p)
    {
        if (t == FrameType.Error)
        {
            ErrorMessage e = Messages.ReadError(p);
            throw new McpRefusedException(e.Code, e.Message);
        }
    }

    private static void Expect(in ReceivedFrame f, FrameType t)
    {
        if (f.Type != t)
            throw new ProtocolException(ErrorCode.Protocol, $"expected {t} from the MCP, got frame type {(byte)f.Type}");
    }

    /// <summary>Resolves a host name or literal to an address for display and checks.</summary>
    public static string Describe(EndPoint? ep) => ep?.ToString() ?? "?";
}
