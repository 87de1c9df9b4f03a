using Mammoth.Net.Configuration;
using Mammoth.Net.Diagnostics;
using Xunit;

namespace Mammoth.Net.Tests;

/// <summary>The files users copy from docs/ must parse, and docs/configuration.md must describe every setting.</summary>
public sealed class SampleFileTests
{
    private static string Docs(string relative) => Path.Combine(AppContext.BaseDirectory, "docs", relative);

    [Fact]
    public void Sample_mcp_server_conf_parses()
    {
        var s = McpServerSettings.Load(Docs("samples/mcp_server.conf"));
        Assert.Equal(7777, s.ListenPort);
        Assert.Equal(5, s.MaxSlaves);
        Assert.Equal(2, s.SlaveAddresses.Count);
        Assert.Equal([0], s.PromoteAllow);
        Assert.Equal(PgLogLevel.Log, s.LogLevel);
        Assert.Empty(s.Warnings);
    }

    [Fact]
    public void Sample_node_conf_parses()
    {
        var s = NodeSettings.Load(Docs("samples/node.conf"));
        Assert.True(s.Enabled);
        Assert.Equal(ReplicationMode.Slave, s.Mode);
        Assert.Equal(0, s.SlaveNo);
        Assert.Equal(7777, s.McpPort);
        Assert.Empty(s.Warnings);
    }

    [Fact]
    public void Samples_in_the_reference_match_the_shipped_files()
    {
        var doc = File.ReadAllText(Docs("configuration.md"));
        foreach (var sample in new[] { "mcp_server.conf", "node.conf" })
        {
            var text = File.ReadAllText(Docs("samples/" + sample)).TrimEnd('\n');
            Assert.Contains("```\n" + text + "\n```", doc, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Reference_describes_every_setting_with_its_reload_class()
    {
        var doc = File.ReadAllLines(Docs("configuration.md"));
        foreach (var schema in new[] { McpServerSettings.Schema, NodeSettings.Schema })
        {
            foreach (var definition in schema.Definitions)
            {
                var row = doc.SingleOrDefault(line => line.StartsWith($"| `{definition.Name}` |", StringComparison.Ordinal));
                Assert.True(row is not null, $"docs/configuration.md has no table row for {definition.Name}");
                var cells = row.Split('|').Select(c => c.Trim()).ToArray();
                // | name | type | default | range | reload | meaning |
                Assert.Equal(definition.Reloadable ? "yes" : "no", cells[5]);
            }
        }
    }
}
