using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Security.Cryptography.X509Certificates;
using Mammoth.Net.Protocol;

namespace Mammoth.Net.Transport;

/// <summary>
/// One MCP connection: a socket, optionally upgraded to TLS right after HELLO (as PostgreSQL's
/// SSLRequest), then read through a <see cref="PipeReader"/> and written through a <see cref="PipeWriter"/>
/// (control frames) or straight from the caller's memory (records: from the mapped txlog, no copy).
/// </summary>
/// <remarks>
/// <para>Reads: one reader at a time (the session's receive loop). The stream pipe reader pulls from the
/// socket only when the loop asks, so unread input never exceeds one frame plus one read buffer:
/// memory per connection is bounded by the maximum frame size.</para>
/// <para>Writes: any task may send; a write lock keeps frames whole and in order.</para>
/// </remarks>
public sealed class FrameConnection : IAsyncDisposable
{
    private const int ReadBufferSize = 64 * 1024;

    /// <summary>Payloads up to this size are copied into the pipe behind their header (one write); larger ones are sent from the caller's memory.</summary>
    public const int DirectWriteThreshold = 16 * 1024;

    private readonly Socket _socket;
    private readonly NetworkStream _network;
    private Stream _stream;
    private PipeReader? _input;
    private PipeWriter? _output;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly byte[] _frameHeader = new byte[Frame.HeaderSize];
    private int _closed;

    public FrameConnection(Socket socket, int maxFramePayload)
    {
        _socket = socket;
        _socket.NoDelay = true;
        _network = new NetworkStream(socket, ownsSocket: true);
        _stream = _network;
        MaxFramePayload = maxFramePayload;
        Remote = socket.RemoteEndPoint as IPEndPoint ?? new IPEndPoint(IPAddress.None, 0);
    }

    public int MaxFramePayload { get; }
    public IPEndPoint Remote { get; }
    public bool IsTls => _stream is SslStream;

    public PipeReader Input => _input ?? throw new InvalidOperationException("pipes not started");
    public PipeWriter Output => _output ?? throw new InvalidOperationException("pipes not started");

    // ---- handshake phase: raw frames on the socket, before TLS and pipes ---------------------------------

    /// <summary>Reads one small frame directly from the socket (HELLO, TLS_ACCEPT or ERROR).</summary>
    public async ValueTask<(FrameType Type, ReadOnlySequence<byte> Payload)> ReadRawAsync(CancellationToken ct)
    {
        byte[] head = new byte[Frame.HeaderSize];
        await _network.ReadExactlyAsync(head, ct).ConfigureAwait(false);
        uint length = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(head);
        if (length > Messages.MaxControlPayload)
            throw new ProtocolException(ErrorCode.Protocol, $"first frame of {length} bytes is too large for a handshake frame");
        if (!Frame.IsKnown((FrameType)head[4]))
            throw new ProtocolException(ErrorCode.Protocol, $"unknown frame type {head[4]} (is this a MammothFast client?)");
        byte[] payload = new byte[length];
        await _network.ReadExactlyAsync(payload, ct).ConfigureAwait(false);
        return ((FrameType)head[4], new ReadOnlySequence<byte>(payload));
    }

    /// <summary>Writes bytes directly to the socket (handshake phase only).</summary>
    public ValueTask WriteRawAsync(ReadOnlyMemory<byte> frame, CancellationToken ct) => _network.WriteAsync(frame, ct);

    public async Task UpgradeToTlsAsServerAsync(X509Certificate2 certificate, CancellationToken ct)
    {
        var ssl = new SslStream(_network, leaveInnerStreamOpen: false);
        await ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
        {
            ServerCertificate = certificate,
            ClientCertificateRequired = false,
            EnabledSslProtocols = System.Security.Authentication.SslProtocols.Tls12 | System.Security.Authentication.SslProtocols.Tls13,
        }, ct).ConfigureAwait(false);
        _stream = ssl;
    }

    /// <summary>
    /// Upgrades to TLS as a client. With <paramref name="trustedRoots"/> the MCP's certificate must chain to
    /// one of them; without, the channel is encrypted but the certificate is not checked (the HMAC proof in
    /// WELCOME still shows the MCP knows the authkey).
    /// </summary>
    public async Task UpgradeToTlsAsClientAsync(string targetHost, X509Certificate2Collection? trustedRoots, CancellationToken ct)
    {
        var ssl = new SslStream(_network, leaveInnerStreamOpen: false);
        var options = new SslClientAuthenticationOptions
        {
            TargetHost = targetHost,
            EnabledSslProtocols = System.Security.Authentication.SslProtocols.Tls12 | System.Security.Authentication.SslProtocols.Tls13,
            RemoteCertificateValidationCallback = (_, cert, chain, errors) =>
            {
                if (trustedRoots is null)
                    return true;
                if (cert is null)
                    return false;
                using var c = new X509Chain();
                c.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                c.ChainPolicy.CustomTrustStore.AddRange(trustedRoots);
                c.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                return c.Build(new X509Certificate2(cert));
            },
        };
        await ssl.AuthenticateAsClientAsync(options, ct).ConfigureAwait(false);
        _stream = ssl;
    }

    /// <summary>Ends the handshake phase: from now on frames are read and written through the pipes.</summary>
    public void StartPipes()
    {
        _input = PipeReader.Create(_stream, new StreamPipeReaderOptions(bufferSize: ReadBufferSize, minimumReadSize: 4096, leaveOpen: true));
        _output = PipeWriter.Create(_stream, new StreamPipeWriterOptions(minimumBufferSize: 4096, leaveOpen: true));
    }

    // ---- frames through the pipes -----------------------------------------------------------------------

    /// <summary>
    /// Waits for one whole frame. The payload is valid until <see cref="Consume"/>; call it before the next read.
    /// Returns an end frame (<see cref="ReceivedFrame.IsEnd"/>) when the peer closed the connection cleanly between
    /// frames, and throws <see cref="EndOfStreamException"/> when it closed inside one.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<ReceivedFrame> ReadFrameAsync(CancellationToken ct)
    {
        PipeReader input = Input;
        while (true)
        {
            ReadResult r = await input.ReadAsync(ct).ConfigureAwait(false);
            ReadOnlySequence<byte> buffer = r.Buffer;
            if (Frame.TryRead(ref buffer, MaxFramePayload, out FrameType type, out ReadOnlySequence<byte> payload))
                return new ReceivedFrame(type, payload, buffer.Start);
            if (r.IsCompleted)
            {
                input.AdvanceTo(r.Buffer.End);
                if (r.Buffer.Length == 0)
                    return default;
                // The peer died or the network failed between two writes of one frame: a lost connection, not a protocol error.
                throw new EndOfStreamException($"the connection closed in the middle of a frame ({r.Buffer.Length} bytes of it received)");
            }
            input.AdvanceTo(r.Buffer.Start, r.Buffer.End);
        }
    }

    /// <summary>Releases the frame returned by the last <see cref="ReadFrameAsync"/>.</summary>
    public void Consume(in ReceivedFrame frame) => Input.AdvanceTo(frame.Next);

    /// <summary>Sends one control frame built by <paramref name="write"/> (under the write lock).</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public async ValueTask SendAsync<T>(T message, Action<IBufferWriter<byte>, T> write, CancellationToken ct = default)
    {
        await _writeLock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            write(Output, message);
            await Output.FlushAsync(ct).ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>
    /// Sends one frame whose payload is <paramref name="payload"/>. A payload of up to
    /// <see cref="DirectWriteThreshold"/> bytes is copied behind the header into the pipe and goes out in one
    /// write; a longer one is written straight from the caller's memory after the header (no copy), which
    /// must stay unchanged until the returned task completes.
    /// </summary>
    public ValueTask SendFrameAsync(FrameType type, ReadOnlyMemory<byte> payload, CancellationToken ct = default)
    {
        if (payload.Length > MaxFramePayload)
            return ValueTask.FromException(new InvalidOperationException($"frame of {payload.Length} bytes exceeds the frame limit"));
        if (payload.Length <= DirectWriteThreshold)
            return SendAsync((type, payload), static (w, m) => Frame.Write(w, m.type, m.payload.Span), ct);
        return SendDirectAsync(type, payload, ct);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask SendDirectAsync(FrameType type, ReadOnlyMemory<byte> payload, CancellationToken ct)
    {
        await _writeLock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (Output.UnflushedBytes > 0)
                await Output.FlushAsync(ct).ConfigureAwait(false);
            Frame.WriteHeader(_frameHeader, type, payload.Length);
            await _stream.WriteAsync(_frameHeader, ct).ConfigureAwait(false);
            await _stream.WriteAsync(payload, ct).ConfigureAwait(false);
            if (_stream is SslStream)
                await _stream.FlushAsync(ct).ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>
    /// Sends one RECORDS frame whose payload is <paramref name="pieces"/> in order, each written straight
    /// from its memory (a mapped txlog segment or a pooled buffer): no copy into a pipe buffer.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public async ValueTask SendRecordsAsync(IReadOnlyList<ReadOnlyMemory<byte>> pieces, CancellationToken ct = default)
    {
        long total = 0;
        for (int i = 0; i < pieces.Count; i++)
            total += pieces[i].Length;
        if (total > MaxFramePayload)
            throw new InvalidOperationException($"records batch of {total} bytes exceeds the frame limit");
        await _writeLock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (Output.UnflushedBytes > 0)
                await Output.FlushAsync(ct).ConfigureAwait(false);
            Frame.WriteHeader(_frameHeader, FrameType.Records, (int)total);
            await _stream.WriteAsync(_frameHeader, ct).ConfigureAwait(false);
            for (int i = 0; i < pieces.Count; i++)
                await _stream.WriteAsync(pieces[i], ct).ConfigureAwait(false);
            if (_stream is SslStream)
                await _stream.FlushAsync(ct).ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Tries to tell the peer why we close (ERROR frame), without waiting long.</summary>
    public async ValueTask SendErrorAsync(ErrorCode code, string message)
    {
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            if (_output is null)
            {
                var w = new ArrayBufferWriter<byte>(256);
                Messages.Write(w, new ErrorMessage(code, message));
                await WriteRawAsync(w.WrittenMemory, cts.Token).ConfigureAwait(false);
            }
            else
            {
                await SendAsync(new ErrorMessage(code, message), static (w, m) => Messages.Write(w, m), cts.Token).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException or InvalidOperationException)
        {
            // The peer is gone or stuck; closing is all that is left.
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0)
            return;
        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
        }
        if (_input is not null)
            await _input.CompleteAsync().ConfigureAwait(false);
        if (_output is not null)
        {
            try
            {
                await _output.CompleteAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
            {
            }
        }
        await _stream.DisposeAsync().ConfigureAwait(false);
        _socket.Dispose();
    }
}

/// <summary>A frame read by <see cref="FrameConnection.ReadFrameAsync"/>; default when the peer closed.</summary>
public readonly struct ReceivedFrame(FrameType type, ReadOnlySequence<byte> payload, SequencePosition next)
{
    public FrameType Type { get; } = type;
    public ReadOnlySequence<byte> Payload { get; } = payload;
    internal SequencePosition Next { get; } = next;
    public bool IsEnd => Type == 0;
}
