using System.Net.Sockets;
using Mammoth.Net.Diagnostics;
using Mammoth.Net.Protocol;
using Mammoth.Net.Transport;

namespace Mammoth.Net.Hub;

/// <summary>One admitted connection (master, slave or admin) after WELCOME.</summary>
internal abstract class Session
{
    private readonly CancellationTokenSource _cts;
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _lastHeard = Environment.TickCount64;
    private volatile string? _abortReason;

    protected Session(McpServer server, FrameConnection connection, Hello hello)
    {
        Server = server;
        Connection = connection;
        Hello = hello;
        Name = McpServer.Describe(hello);
        _cts = CancellationTokenSource.CreateLinkedTokenSource(server.Stopping);
    }

    public McpServer Server { get; }
    public FrameConnection Connection { get; }
    public Hello Hello { get; }
    public string Name { get; }
    public string? CloseReason { get; protected set; }
    public Task Completion => _completion.Task;
    protected CancellationToken Aborted => _cts.Token;
    protected MammothLog Log => Server.Log;

    public TimeSpan SilentFor => TimeSpan.FromMilliseconds(Environment.TickCount64 - Volatile.Read(ref _lastHeard));

    protected void Heard() => Volatile.Write(ref _lastHeard, Environment.TickCount64);

    /// <summary>Ends the session: its loops see the cancellation and the peer gets an ERROR with the reason.</summary>
    public void Abort(string reason)
    {
        _abortReason ??= reason;
        try
        {
            _cts.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    public async Task RunAsync()
    {
        try
        {
            await RunCoreAsync(_cts.Token).ConfigureAwait(false);
        }
        catch (ProtocolException ex)
        {
            CloseReason = ex.Message;
            Log.Write(PgLogLevel.ComError, $"{Name}: {ex.Message}");
            await Connection.SendErrorAsync(ex.Code, ex.Message).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_cts.IsCancellationRequested)
        {
            CloseReason = _abortReason ?? "the MCP is shutting down";
            await Connection.SendErrorAsync(Server.Stopping.IsCancellationRequested ? ErrorCode.ShuttingDown : ErrorCode.Timeout, CloseReason).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or InvalidOperationException)
        {
            CloseReason ??= $"connection lost ({ex.Message})";
        }
        finally
        {
            _cts.Dispose();
            _completion.TrySetResult();
        }
    }

    protected abstract Task RunCoreAsync(CancellationToken ct);

    public async Task SendEchoAsync()
    {
        try
        {
            await Connection.SendAsync((ulong)Environment.TickCount64, static (w, t) => Messages.WriteEcho(w, FrameType.Echo, t), Aborted).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or OperationCanceledException or InvalidOperationException)
        {
            // The receive loop sees the broken connection and ends the session.
        }
    }

    /// <summary>Frames every role may send: ECHO (answered) and ECHO_REPLY. Returns true when handled.</summary>
    protected async ValueTask<bool> HandleCommonAsync(ReceivedFrame f, CancellationToken ct)
    {
        switch (f.Type)
        {
            case FrameType.EchoReply:
                Messages.ReadEcho(f.Payload);
                return true;
            case FrameType.Echo:
                ulong token = Messages.ReadEcho(f.Payload);
                await Connection.SendAsync(token, static (w, t) => Messages.WriteEcho(w, FrameType.EchoReply, t), ct).ConfigureAwait(false);
                return true;
            case FrameType.Bye:
                CloseReason = "said goodbye: " + Messages.ReadText(f.Payload, "BYE");
                return true;
            default:
                return false;
        }
    }

    protected static ProtocolException Unexpected(string who, FrameType t) =>
        new(ErrorCode.Protocol, $"unexpected frame {t} ({(byte)t}) from the {who}");
}

/// <summary>An admin client (status tools): answers echoes until it leaves.</summary>
internal sealed class AdminSession(McpServer server, FrameConnection connection, Hello hello) : Session(server, connection, hello)
{
    protected override async Task RunCoreAsync(CancellationToken ct)
    {
        while (true)
        {
            ReceivedFrame f = await Connection.ReadFrameAsync(ct).ConfigureAwait(false);
            if (f.IsEnd)
                return;
            Heard();
            bool handled = await HandleCommonAsync(f, ct).ConfigureAwait(false);
            FrameType t = f.Type;
            Connection.Consume(f);
            if (!handled)
                throw Unexpected("admin client", t);
            if (t == FrameType.Bye)
                return;
        }
    }
}
