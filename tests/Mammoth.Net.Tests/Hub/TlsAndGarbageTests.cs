using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Mammoth.Log.Records;
using Mammoth.Net.Protocol;
using Mammoth.Net.Transport;
using Xunit;

namespace Mammoth.Net.Tests.Hub;

public class TlsAndGarbageTests
{
    /// <summary>A self-signed certificate for 127.0.0.1 written as PEM files; returns (cert, key) paths.</summary>
    internal static (string Cert, string Key) SelfSigned(string dir)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var req = new CertificateRequest("CN=mammoth-test-mcp", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(System.Net.IPAddress.Loopback);
        req.CertificateExtensions.Add(san.Build());
        using X509Certificate2 cert = req.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        string c = Path.Combine(dir, "mcp.crt"), k = Path.Combine(dir, "mcp.key");
        File.WriteAllText(c, cert.ExportCertificatePem());
        File.WriteAllText(k, key.ExportPkcs8PrivateKeyPem());
        return (c, k);
    }

    [Fact]
    public async Task With_mcp_require_ssl_a_plain_client_is_refused_and_ssl_clients_stream()
    {
        using var certDir = new TempDirectory();
        (string cert, string key) = SelfSigned(certDir.Path);
        await using McpHarness mcp = await McpHarness.StartAsync($"mcp_require_ssl = on\nmcp_ssl_cert_file = '{cert}'\nmcp_ssl_key_file = '{key}'");

        var plain = await Assert.ThrowsAsync<McpRefusedException>(() => SlaveLink.ConnectAsync(mcp.Options(NodeRole.Slave, 1)));
        Assert.Equal(ErrorCode.SslRequired, plain.Code);
        Assert.Contains("this MCP requires SSL (mcp_require_ssl = on)", plain.Message);

        // The MCP's certificate is checked when the node names a CA file.
        await using SlaveLink s = await SlaveLink.ConnectAsync(new McpClientOptions
        {
            Host = "127.0.0.1", Port = mcp.Port, AuthKey = McpHarness.AuthKey, Role = NodeRole.Slave, SlaveNo = 0, RequireSsl = true, SslCaFile = cert,
        });
        await s.SubscribeAsync(1);
        await using MasterLink m = await MasterLink.ConnectAsync(mcp.Options(NodeRole.Master, ssl: true));
        await HubTests.SendAsync(m, 1, 500, _ => [SlaveSet.All]);
        long got = 0;
        while (got < 500)
        {
            SlaveMessage msg = await s.ReceiveAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(20));
            got += SlaveLink.ForEachRecord(msg.Records, (_, _) => { });
        }
        Assert.Equal(500, got);
    }

    [Fact]
    public async Task A_node_asking_for_ssl_from_an_mcp_without_a_certificate_is_told_so()
    {
        await using McpHarness mcp = await McpHarness.StartAsync();
        var e = await Assert.ThrowsAsync<McpRefusedException>(() => SlaveLink.ConnectAsync(mcp.Options(NodeRole.Slave, 0, ssl: true)));
        Assert.Equal(ErrorCode.SslUnavailable, e.Code);
        Assert.Contains("has no certificate", e.Message);
    }

    /// <summary>Connections that send random bytes, a huge length, a bad HELLO, half a frame, or nothing at all.</summary>
    internal static async Task Garbage(int port, int count, int seed)
    {
        var rnd = new Random(seed);
        var tasks = new List<Task>();
        for (int i = 0; i < count; i++)
        {
            int kind = i % 5;
            byte[] junk = new byte[rnd.Next(1, 4000)];
            rnd.NextBytes(junk);
            tasks.Add(Task.Run(async () =>
            {
                using var sock = new Socket(SocketType.Stream, ProtocolType.Tcp);
                try
                {
                    await sock.ConnectAsync("127.0.0.1", port);
                    byte[] payload = kind switch
                    {
                        0 => junk,
                        1 => [0x7F, 0xFF, 0xFF, 0xFF, 1],                          // gigantic HELLO
                        2 => [0, 0, 0, 20, 1, .. junk.AsSpan(0, Math.Min(20, junk.Length))], // HELLO with a bad magic
                        3 => [0, 0, 0, 40, 1, 0x4D, 0x4D],                         // half a frame, then close
                        _ => [],                                                   // connect and say nothing
                    };
                    if (payload.Length > 0)
                        await sock.SendAsync(payload);
                    if (kind == 4)
                        await Task.Delay(200);
                }
                catch (SocketException)
                {
                }
            }));
            if (tasks.Count >= 100)
            {
                await Task.WhenAll(tasks);
                tasks.Clear();
            }
        }
        await Task.WhenAll(tasks);
    }
}
