using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Mammoth.Log.Records;
using Mammoth.Log.State;
using Mammoth.Log.Storage;
using Mammoth.Net.Configuration;
using Mammoth.Net.Diagnostics;
using Mammoth.Net.Protocol;
using Mammoth.Net.Transport;
using Microsoft.Extensions.ObjectPool;

namespace Mammoth.Net.Hub;

/// <summary>Knobs of the hub that are not administrator settings (tests shorten them).</summary>
public sealed class McpServerOptions
{
    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(10);
    public TimeSpan StateSaveInterval { get; init; } = TimeSpan.FromMilliseconds(200);
    public TimeSpan RecycleInterval { get; init; } = TimeSpan.FromSeconds(1);
    /// <summary>How many bytes of records a slave sender puts in one RECORDS frame.</summary>
    public int SlaveBatchBytes { get; init; } = 256 * 1024;
    /// <summary>Group-commit size of the txlog (TxLogOptions.FlushBytes).</summary>
    public int FlushBytes { get; init; } = 1024 * 1024;
    public SegmentPreallocation Preallocation { get; init; } = SegmentPreallocation.ZeroFill;
    /// <summary>Check the payload CRC of every record the master sends (the slaves check again).</summary>
    public bool VerifyIngest { get; init; } = true;
    /// <summary>Check the payload CRC of every record a slave sender reads from the txlog (TxLogOptions.VerifyOnRead).</summary>
    public bool VerifyOnRead { get; init; } = true;
}

/// <summary>
/// The MCP: accepts the master and the slaves, makes the master's records durable in the txlog, and streams
/// them to every slave at its own pace (see docs/protocol.md).
/// </summary>
public sealed partial class McpServer : IAsyncDisposable
{
    private readonly McpServerOptions _options;
    private readonly MammothLog _log;
    private volatile McpServerSettings _settings;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _background = [];
    private readonly object _sessionsLock = new();
    private readonly Dictionary<int, SlaveSession> _slaves = [];
    private MasterSession? _master;
    private Socket? _listener;
    private X509Certificate2? _certificate;
    private TxLog? _txlog;
    private int _connections;
    private int _connectionsOpen;

    internal ObjectPool<SlaveBatch> BatchPool { get; } = new DefaultObjectPool<SlaveBatch>(new SlaveBatchPolicy(), 64);

    public McpServer(McpServerSettings settings, MammothLog log, McpServerOptions? options = null)
    {
        _settings = settings;
        _log = log;
        _options = options ?? new McpServerOptions();
    }

    public McpServerSettings Settings => _settings;
    public MammothLog Log => _log;
    internal McpServerOptions Options => _options;
    internal TxLog TxLog => _txlog ?? throw new InvalidOperationException("not started");
    internal CancellationToken Stopping => _stop.Token;
    /// <summary>Identity of this queue (kept in the state file).</summary>
    public Guid McpId => _state.McpId;

    /// <summary>Where the server listens (useful with mcp_listen_port = 0).</summary>
    public IPEndPoint LocalEndPoint => (IPEndPoint)(_listener?.LocalEndPoint ?? throw new InvalidOperationException("not started"));

    /// <summary>Connections accepted so far (tests).</summary>
    public int ConnectionsAccepted => Volatile.Read(ref _connections);

    /// <summary>Connections accepted and not yet closed (tests: a refused or timed-out one is gone again).</summary>
    public int ConnectionsOpen => Volatile.Read(ref _connectionsOpen);

    /// <summary>Opens the txlog (recovering it), loads the state, starts listening and the background work.</summary>
    /// <param name="owned">
    /// Called once the txlog is open and locked by this server, before it listens: where mcp_server writes its
    /// pid file, so that whoever sees "listening on" finds the pid file there (and a refused second server
    /// never overwrites it).
    /// </param>
    public Task StartAsync(Action? owned = null)
    {
        McpServerSettings s = _settings;
        if (s.SslCertFile is not null && s.SslKeyFile is not null)
        {
            try
            {
                _certificate = X509Certificate2.CreateFromPemFile(s.SslCertFile, s.SslKeyFile);
            }
            catch (Exception ex) when (ex is IOException or System.Security.Cryptography.CryptographicException or UnauthorizedAccessException)
            {
                throw new ConfigException($"{s.FileName}: cannot load mcp_ssl_cert_file \"{s.SslCertFile}\" / mcp_ssl_key_file \"{s.SslKeyFile}\": {ex.Message}");
            }
        }
        _txlog = TxLog.Open(new TxLogOptions
        {
            Path = s.TxlogPath,
            SegmentSize = s.SegmentSize,
            FlushBytes = _options.FlushBytes,
            Preallocation = _options.Preallocation,
            VerifyOnRead = _options.VerifyOnRead,
            Report = m => _log.Write(PgLogLevel.Warning, m),
        });
        owned?.Invoke();
        LoadState();
        _log.Write(PgLogLevel.Log, $"txlog {s.TxlogPath}: records {_txlog.FirstRecno}..{_txlog.LastRecno}, {_txlog.DataBytes} bytes in {_txlog.GetSegments().Count} segments, epoch {_state.Epoch}");

        _listener = new Socket(s.ListenAddress.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        _listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        try
        {
            _listener.Bind(new IPEndPoint(s.ListenAddress, s.ListenPort));
        }
        catch (SocketException ex)
        {
            _txlog.Dispose();
            throw new ConfigException($"{s.FileName}: cannot listen on {s.ListenAddress}:{s.ListenPort} (mcp_listen_address, mcp_listen_port): {ex.Message}");
        }
        _listener.Listen(512);
        _log.Write(PgLogLevel.Log, $"mcp_server listening on {LocalEndPoint}{(_certificate is not null ? " (SSL available)" : "")}{(s.RequireSsl ? ", SSL required" : "")}");
        _background.Add(Task.Run(AcceptLoopAsync));
        _background.Add(Task.Run(StateSaverLoopAsync));
        _background.Add(Task.Run(RecycleLoopAsync));
        _background.Add(Task.Run(EchoLoopAsync));
        StartIndexer();
        StartDumpWatcher();
        return Task.CompletedTask;
    }

    /// <summary>Applies a reloaded configuration (SIGHUP); logs what needs a restart.</summary>
    public void Reload(McpServerSettings next)
    {
        McpServerSettings before = _settings;
        foreach (string name in McpServerSettings.NonReloadableChanges(before, next))
            _log.Write(PgLogLevel.Warning, $"{next.FileName}: {name} changed but takes effect only after a restart of mcp_server");
        var changed = McpServerSettings.ChangedSettings(before, next).Where(McpServerSettings.IsReloadable).ToList();
        _settings = next;
        _log.Level = next.LogLevel;
        _log.Write(PgLogLevel.Log, changed.Count == 0 ? "configuration reloaded; nothing changed" : $"configuration reloaded: {string.Join(", ", changed)}");
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener!.AcceptAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (SocketException ex) when (ex.SocketErrorCode is SocketError.ConnectionAborted or SocketError.ConnectionReset or SocketError.Interrupted)
            {
                continue; // the client left before we took it: nothing to do
            }
            catch (SocketException ex)
            {
                // Out of file descriptors and the like: say so, breathe, go on serving.
                _log.Write(PgLogLevel.Error, $"accept failed: {ex.Message}");
                await Task.Delay(100).ConfigureAwait(false);
                continue;
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            Interlocked.Increment(ref _connections);
            Interlocked.Increment(ref _connectionsOpen);
            _ = Task.Run(() => HandleConnectionAsync(client));
        }
    }

    private async Task HandleConnectionAsync(Socket socket)
    {
        McpServerSettings s = _settings;
        var conn = new FrameConnection(socket, (int)Math.Min(s.MaxFrameSize, int.MaxValue - 64));
        string who = conn.Remote.Address.ToString();
        try
        {
            Session? session;
            using (var cts = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token))
            {
                cts.CancelAfter(_options.HandshakeTimeout);
                session = await HandshakeAsync(conn, s, cts.Token).ConfigureAwait(false);
            }
            if (session is null)
                return;
            try
            {
                await session.RunAsync().ConfigureAwait(false);
            }
            finally
            {
                Unregister(session);
            }
        }
        catch (ProtocolException ex)
        {
            _log.Write(ex.Code == ErrorCode.Protocol ? PgLogLevel.ComError : PgLogLevel.Warning, $"connection from {who} refused: {ex.Message}");
            await conn.SendErrorAsync(ex.Code, ex.Message).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            await conn.SendErrorAsync(ErrorCode.ShuttingDown, "the MCP is shutting down").ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            _log.Write(PgLogLevel.ComError, $"connection from {who} closed: no complete handshake within {_options.HandshakeTimeout.TotalSeconds:0} s");
        }
        catch (Exception ex) when (ex is IOException or SocketException or EndOfStreamException or System.Security.Authentication.AuthenticationException)
        {
            _log.Write(PgLogLevel.ComError, $"connection from {who} lost: {ex.Message}");
        }
        catch (Exception ex)
        {
            _log.Write(PgLogLevel.Error, $"connection from {who}: unexpected {ex.GetType().Name}: {ex}");
            await conn.SendErrorAsync(ErrorCode.Internal, "internal error in the MCP; see its log").ConfigureAwait(false);
        }
        finally
        {
            await conn.DisposeAsync().ConfigureAwait(false);
            Interlocked.Decrement(ref _connectionsOpen);
        }
    }

    /// <summary>HELLO → [TLS] → CHALLENGE → AUTH → checks → WELCOME. Returns the admitted session.</summary>
    private async Task<Session?> HandshakeAsync(FrameConnection conn, McpServerSettings s, CancellationToken ct)
    {
        (FrameType type, ReadOnlySequence<byte> payload) = await conn.ReadRawAsync(ct).ConfigureAwait(false);
        if (type != FrameType.Hello)
            throw new ProtocolException(ErrorCode.Protocol, $"expected HELLO, got frame type {(byte)type}");
        Hello hello = Messages.ReadHello(payload);
        if (hello.Version != Frame.ProtocolVersion)
            throw new ProtocolException(ErrorCode.Version, $"protocol version {hello.Version} is not supported (this MCP speaks {Frame.ProtocolVersion}); use matching MammothFast versions");
        string what = Describe(hello);
        CheckAddress(hello, conn.Remote.Address, s);

        if (hello.WantsTls)
        {
            if (_certificate is null)
                throw new ProtocolException(ErrorCode.SslUnavailable, $"{what} asked for SSL but this MCP has no certificate; set mcp_ssl_cert_file and mcp_ssl_key_file, or replication_mcp_require_ssl = off on the node");
            byte[] accept = new byte[Frame.HeaderSize];
            Frame.WriteHeader(accept, FrameType.TlsAccept, 0);
            await conn.WriteRawAsync(accept, ct).ConfigureAwait(false);
            await conn.UpgradeToTlsAsServerAsync(_certificate, ct).ConfigureAwait(false);
        }
        else if (s.RequireSsl)
        {
            throw new ProtocolException(ErrorCode.SslRequired, $"{what} refused: this MCP requires SSL (mcp_require_ssl = on); set replication_mcp_require_ssl = on on the node");
        }
        conn.StartPipes();

        byte[] serverNonce = Authentication.NewNonce();
        await conn.SendAsync(new Challenge(serverNonce, conn.IsTls), static (w, m) => Messages.Write(w, m), ct).ConfigureAwait(false);
        ReceivedFrame f = await conn.ReadFrameAsync(ct).ConfigureAwait(false);
        if (f.IsEnd)
            return null;
        if (f.Type != FrameType.Auth)
            throw new ProtocolException(ErrorCode.Protocol, $"expected AUTH, got frame type {(byte)f.Type}");
        Auth auth = Messages.ReadAuth(f.Payload);
        conn.Consume(f);
        byte[] expected = Authentication.ClientMac(s.AuthKey, serverNonce, auth.ClientNonce, hello.Role, hello.SlaveNo, hello.SystemId);
        if (!Authentication.Matches(expected, auth.Mac))
            throw new ProtocolException(ErrorCode.AuthFailed, $"{what} failed to authenticate: its replication_mcp_authkey does not match mcp_authkey");

        Session session = Admit(hello, conn, s);
        try
        {
            Welcome welcome = CreateWelcome(session, Authentication.ServerProof(s.AuthKey, serverNonce, auth.ClientNonce));
            await conn.SendAsync(welcome, static (w, m) => Messages.Write(w, m), ct).ConfigureAwait(false);
        }
        catch
        {
            Unregister(session);
            throw;
        }
        _log.Write(PgLogLevel.Log, $"{what} connected from {conn.Remote}{(conn.IsTls ? " (SSL)" : "")}");
        return session;
    }

    internal static string Describe(Hello h) => h.Role switch
    {
        NodeRole.Master => $"master \"{h.Name}\"",
        NodeRole.Slave => $"slave {h.SlaveNo} \"{h.Name}\"",
        _ => $"admin client \"{h.Name}\"",
    };

    private static void CheckAddress(Hello hello, IPAddress from, McpServerSettings s)
    {
        IPAddress who = from.IsIPv4MappedToIPv6 ? from.MapToIPv4() : from;
        if (hello.Role == NodeRole.Master && s.MasterAddress is { } m && !Same(m, who))
            throw new ProtocolException(ErrorCode.AddressRefused, $"master connection from {who} refused: mcp_master_address is {m}");
        if (hello.Role == NodeRole.Slave && s.SlaveAddresses.Count > 0)
        {
            if (!s.SlaveAddresses.TryGetValue(hello.SlaveNo, out IPAddress? allowed))
            {
                throw new ProtocolException(ErrorCode.UnknownSlave,
                    $"slave number {hello.SlaveNo} is not configured in mcp_slave_addresses (configured: {string.Join(", ", s.SlaveAddresses.Keys.Order())})");
            }
            if (!Same(allowed, who))
                throw new ProtocolException(ErrorCode.AddressRefused, $"slave {hello.SlaveNo} connection from {who} refused: mcp_slave_addresses allows it only from {allowed}");
        }

        // 127.0.0.1 and ::1 name the same host; other loopback addresses (127.0.0.2…) are distinct.
        static bool Same(IPAddress a, IPAddress b)
        {
            a = a.IsIPv4MappedToIPv6 ? a.MapToIPv4() : a;
            return a.Equals(b) || (IsLocalHost(a) && IsLocalHost(b));
        }

        static bool IsLocalHost(IPAddress x) => x.Equals(IPAddress.Loopback) || x.Equals(IPAddress.IPv6Loopback);
    }

    /// <summary>Role checks and registration; refusals are <see cref="ProtocolException"/>s with one sentence.</summary>
    private Session Admit(Hello hello, FrameConnection conn, McpServerSettings s)
    {
        lock (_sessionsLock)
        {
            switch (hello.Role)
            {
                case NodeRole.Master:
                {
                    if (_master is { } existing)
                        throw new ProtocolException(ErrorCode.AlreadyConnected, $"master refused: a master is already connected from {existing.Connection.Remote}; stop the other master agent first");
                    lock (_stateLock)
                    {
                        if (_state.MasterSystemId != 0 && hello.SystemId != 0 && hello.SystemId != _state.MasterSystemId)
                        {
                            throw new ProtocolException(ErrorCode.Fenced,
                                $"master refused: this database (system identifier {hello.SystemId}) is not the master of epoch {_state.Epoch} (system identifier {_state.MasterSystemId}); a demoted or foreign master can never write to this queue");
                        }
                        if (_state.MasterSystemId == 0 && hello.SystemId != 0)
                            _state.MasterSystemId = hello.SystemId;
                        _state.MasterConnected = true;
                        _state.MasterAddress = conn.Remote.Address.ToString();
                        _state.MasterLastSeen = DateTime.UtcNow;
                        MarkDirty();
                    }
                    var m = new MasterSession(this, conn, hello);
                    _master = m;
                    return m;
                }
                case NodeRole.Slave:
                {
                    int no = hello.SlaveNo;
                    if (no is < 0 or > SlaveSet.MaxSlaveNumber)
                        throw new ProtocolException(ErrorCode.UnknownSlave, $"slave number {no} is out of range; slave numbers are 0..{SlaveSet.MaxSlaveNumber}");
                    if (_slaves.TryGetValue(no, out SlaveSession? existing))
                        throw new ProtocolException(ErrorCode.AlreadyConnected, $"slave {no} refused: slave {no} is already connected from {existing.Connection.Remote}; stop the other agent first");
                    if (_slaves.Count >= s.MaxSlaves)
                    {
                        throw new ProtocolException(ErrorCode.TooManySlaves,
                            $"slave {no} refused: {_slaves.Count} slaves are connected and mcp_max_slaves is {s.MaxSlaves}");
                    }
                    var session = new SlaveSession(this, conn, hello);
                    _slaves.Add(no, session);
                    lock (_stateLock)
                    {
                        SlaveRecord r = _state.Slave(no);
                        r.Connected = true;
                        r.Address = conn.Remote.Address.ToString();
                        r.LastSeen = DateTime.UtcNow;
                        MarkDirty();
                    }
                    return session;
                }
                default:
                    return new AdminSession(this, conn, hello);
            }
        }
    }

    private Welcome CreateWelcome(Session session, byte[] proof)
    {
        TxLog log = TxLog;
        RecordHeader last = log.LastHeader;
        lock (_stateLock)
        {
            SlaveRecord? sr = session is SlaveSession ss ? _state.Slave(ss.SlaveNo) : null;
            return new Welcome(proof, _state.Epoch, McpId, log.FirstRecno, log.LastRecno,
                last.Epoch, last.CommitLsn, last.Seq, sr?.AckRecno ?? 0, sr?.State ?? SlaveSyncState.SYNC);
        }
    }

    private void Unregister(Session session)
    {
        lock (_sessionsLock)
        {
            if (session is MasterSession m && ReferenceEquals(_master, m))
            {
                _master = null;
                lock (_stateLock)
                {
                    _state.MasterConnected = false;
                    MarkDirty();
                }
            }
            else if (session is SlaveSession s && _slaves.TryGetValue(s.SlaveNo, out SlaveSession? cur) && ReferenceEquals(cur, s))
            {
                _slaves.Remove(s.SlaveNo);
                lock (_stateLock)
                {
                    SlaveRecord r = _state.Slave(s.SlaveNo);
                    r.Connected = false;
                    if (r.State == SlaveSyncState.SYNC)
                        r.State = SlaveSyncState.DESYNC;
                    MarkDirty();
                }
            }
        }
        _log.Write(PgLogLevel.Log, $"{session.Name} disconnected{(session.CloseReason is { } why ? ": " + why : "")}");
    }

    internal MasterSession? Master
    {
        get
        {
            lock (_sessionsLock)
                return _master;
        }
    }

    internal SlaveSession[] SlaveSessions()
    {
        lock (_sessionsLock)
            return [.. _slaves.Values];
    }

    /// <summary>Stops accepting, closes every session, flushes the txlog and saves the state.</summary>
    public async Task StopAsync()
    {
        if (_stop.IsCancellationRequested || _listener is null)
            return;
        _log.Write(PgLogLevel.Log, "mcp_server shutting down");
        _stop.Cancel();
        _listener?.Dispose();
        Session[] sessions;
        lock (_sessionsLock)
            sessions = [.. _slaves.Values, .. _master is null ? Array.Empty<Session>() : [_master]];
        foreach (Session s in sessions)
            s.Abort("the MCP is shutting down");
        try
        {
            await Task.WhenAll(_background).WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or TimeoutException)
        {
        }
        foreach (Session s in sessions)
            await s.Completion.WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        if (_txlog is not null)
        {
            await FlushMasterAppendsAsync().ConfigureAwait(false);
            await StopIndexerAsync().ConfigureAwait(false);
            SaveStateNow();
            _txlog.Dispose();
        }
        _log.Write(PgLogLevel.Log, "mcp_server stopped");
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _certificate?.Dispose();
        _stop.Dispose();
    }

    private sealed class SlaveBatchPolicy : PooledObjectPolicy<SlaveBatch>
    {
        public override SlaveBatch Create() => new();

        public override bool Return(SlaveBatch obj)
        {
            obj.Reset();
            return true;
        }
    }
}
