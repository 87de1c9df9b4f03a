using System.Reflection;
using System.Security.Cryptography;
using System.Text;

namespace Mammoth.Nodes.Catalog;

/// <summary>
/// The catalog SQL embedded in this assembly: numbered migrations (<c>001_base.sql</c>, <c>002_….sql</c>, …;
/// migration N takes the catalog from version N-1 to N, and a fresh install runs them all in order) and
/// <c>functions.sql</c>, re-applied after any migration and whenever its SHA-256 differs from the one installed.
/// </summary>
internal static class CatalogScripts
{
    private const string Prefix = "Mammoth.Nodes.Catalog.Sql.";

    /// <summary>Migrations by version, ascending, without gaps.</summary>
    public static IReadOnlyList<(int Version, string Name, string Sql)> Migrations { get; } = LoadMigrations();

    public static string Functions { get; } = Load("functions.sql");

    public static string FunctionsSha256 { get; } = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Functions)));

    public static int LatestVersion => Migrations[^1].Version;

    private static List<(int, string, string)> LoadMigrations()
    {
        var list = new List<(int Version, string Name, string Sql)>();
        foreach (string resource in typeof(CatalogScripts).Assembly.GetManifestResourceNames())
        {
            if (!resource.StartsWith(Prefix, StringComparison.Ordinal))
                continue;
            string name = resource[Prefix.Length..];
            int underscore = name.IndexOf('_', StringComparison.Ordinal);
            if (underscore > 0 && int.TryParse(name.AsSpan(0, underscore), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int version))
                list.Add((version, name, Load(name)));
        }
        list.Sort((a, b) => a.Version.CompareTo(b.Version));
        for (int i = 0; i < list.Count; i++)
        {
            if (list[i].Version != i + 1)
                throw new InvalidOperationException($"catalog migrations must be numbered 1, 2, 3 … without gaps; found {list[i].Name} at position {i + 1}");
        }
        return list;
    }

    private static string Load(string name)
    {
        using Stream stream = Assembly.GetExecutingAssembly().GetManifestResourceStream(Prefix + name)
            ?? throw new InvalidOperationException($"catalog script {name} is not embedded in Mammoth.Nodes");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }
}
