using System.Net;
using System.Net.Sockets;

namespace Mammoth.Master.Tests;

/// <summary>
/// A TCP proxy between the agent and the MCP that can hold the agent's bytes back (stop reading them), so the
/// MCP stores nothing new while the agent keeps capturing.
/// </summary>
public sealed class HoldingProxy : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly int _upstreamPort;
    private readonly CancellationTokenSource _cts = new();
    private readonly List<Task> _pumps = [];
    private readonly Task _accept;
    private volatile TaskCompletionSource _open = Opened();

    /// <param name="listenPort">The proxy's own port (0: any free one); a fixed one replaces a proxy the agent knew.</param>
    public HoldingProxy(int upstreamPort, int listenPort = 0)
    {
        _upstreamPort = upstreamPort;
        _listener = new TcpListener(IPAddress.Loopback, listenPort);
        _listener.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        _listener.Start();
        _accept = Task.Run(AcceptLoopAsync);
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Stops forwarding client → server bytes from now on.</summary>
    public void Hold() => _open = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Release() => _open.TrySetResult();

    private static TaskCompletionSource Opened()
    {
        var t = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        t.SetResult();
        return t;
    }

    private async Task AcceptLoopAsync()
    {
        while (!_cts.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptSocketAsync(_cts.Token);
            }
            catch (Exception) when (_cts.IsCancellationRequested)
            {
                return;
            }
            var server = new Socket(SocketType.Stream, ProtocolType.Tcp);
            try
            {
                await server.ConnectAsync(IPAddress.Loopback, _upstreamPort, _cts.Token);
            }
            catch (SocketException)
            {
                client.Dispose();
                server.Dispose();
                continue;
            }
            lock (_pumps)
            {
                _pumps.Add(PumpAsync(client, server, holdable: true));
                _pumps.Add(PumpAsync(server, client, holdable: false));
            }
        }
    }

    private async Task PumpAsync(Socket from, Socket to, bool holdable)
    {
        byte[] buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                int n = await from.ReceiveAsync(buffer, SocketFlags.None, _cts.Token);
                if (n == 0)
                    break;
                if (holdable)
                    await _open.Task.WaitAsync(_cts.Token); // bytes read while held wait here
                await to.SendAsync(buffer.AsMemory(0, n), SocketFlags.None, _cts.Token);
            }
        }
        catch (Exception)
        {
            // either side went away
        }
        finally
        {
            from.Dispose();
            to.Dispose();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _cts.CancelAsync();
        _listener.Stop();
        await _accept.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        Task[] pumps;
        lock (_pumps)
            pumps = [.. _pumps];
        await Task.WhenAll(pumps).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _cts.Dispose();
    }
}
