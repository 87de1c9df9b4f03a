using System.Buffers;
using System.Buffers.Binary;
using System.Net.Sockets;
using Mammoth.Log.State;
using Mammoth.Net.Protocol;

namespace Mammoth.Bench.Net;

/// <summary>
/// The server side of the MCP handshake on a bare socket, and nothing else: a "null MCP" that takes the
/// place of the hub to show what the network and the client library cost on their own. After the
/// handshake the caller moves bytes with <see cref="Socket.SendAsync(ReadOnlyMemory{byte}, SocketFlags, CancellationToken)"/>
/// and <see cref="Socket.ReceiveAsync(Memory{byte}, SocketFlags, CancellationToken)"/>, which allocate nothing per call.
/// </summary>
internal static class NullMcp
{
    /// <summary>HELLO → CHALLENGE → AUTH (checked) → WELCOME; returns the client's HELLO.</summary>
    public static async Task<Hello> AcceptAsync(Socket socket, string authKey)
    {
        socket.NoDelay = true;
        (FrameType type, byte[] payload) = await ReadFrameAsync(socket).ConfigureAwait(false);
        if (type != FrameType.Hello)
            throw new InvalidOperationException($"expected HELLO, got {type}");
        Hello hello = Messages.ReadHello(new ReadOnlySequence<byte>(payload));
        byte[] nonce = Authentication.NewNonce();
        await SendAsync(socket, new Challenge(nonce, false), static (w, m) => Messages.Write(w, m)).ConfigureAwait(false);
        (type, payload) = await ReadFrameAsync(socket).ConfigureAwait(false);
        if (type != FrameType.Auth)
            throw new InvalidOperationException($"expected AUTH, got {type}");
        Auth auth = Messages.ReadAuth(new ReadOnlySequence<byte>(payload));
        byte[] expected = Authentication.ClientMac(authKey, nonce, auth.ClientNonce, hello.Role, hello.SlaveNo, hello.SystemId);
        if (!Authentication.Matches(expected, auth.Mac))
            throw new InvalidOperationException("the client does not know the authkey");
        var welcome = new Welcome(Authentication.ServerProof(authKey, nonce, auth.ClientNonce), NetBench.Epoch, Guid.Empty,
            FirstRecno: 1, LastRecno: 0, LastEpoch: 0, LastLsn: 0, LastSeq: 0, SlaveAck: 0, SlaveState: SlaveSyncState.SYNC);
        await SendAsync(socket, welcome, static (w, m) => Messages.Write(w, m)).ConfigureAwait(false);
        return hello;
    }

    public static async Task<(FrameType Type, byte[] Payload)> ReadFrameAsync(Socket socket)
    {
        byte[] head = new byte[Frame.HeaderSize];
        await ReceiveExactlyAsync(socket, head).ConfigureAwait(false);
        int length = BinaryPrimitives.ReadInt32BigEndian(head);
        byte[] payload = new byte[length];
        await ReceiveExactlyAsync(socket, payload).ConfigureAwait(false);
        return ((FrameType)head[4], payload);
    }

    public static async Task SendAsync<T>(Socket socket, T message, Action<IBufferWriter<byte>, T> write)
    {
        var w = new ArrayBufferWriter<byte>(256);
        write(w, message);
        await SendAllAsync(socket, w.WrittenMemory).ConfigureAwait(false);
    }

    public static async ValueTask SendAllAsync(Socket socket, ReadOnlyMemory<byte> data)
    {
        while (!data.IsEmpty)
        {
            int n = await socket.SendAsync(data, SocketFlags.None).ConfigureAwait(false);
            data = data[n..];
        }
    }

    private static async ValueTask ReceiveExactlyAsync(Socket socket, Memory<byte> buffer)
    {
        while (!buffer.IsEmpty)
        {
            int n = await socket.ReceiveAsync(buffer, SocketFlags.None).ConfigureAwait(false);
            if (n == 0)
                throw new IOException("the client closed the connection");
            buffer = buffer[n..];
        }
    }
}
