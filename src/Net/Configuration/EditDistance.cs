namespace Mammoth.Net.Configuration;

/// <summary>Finds the known name a misspelt one was meant to be.</summary>
internal static class EditDistance
{
    /// <summary>
    /// Optimal string alignment distance: insertions, deletions, substitutions and swaps of two
    /// neighbouring characters each count one.
    /// </summary>
    public static int Between(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++)
        {
            d[i, 0] = i;
        }
        for (var j = 0; j <= b.Length; j++)
        {
            d[0, j] = j;
        }
        for (var i = 1; i <= a.Length; i++)
        {
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                var best = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                {
                    best = Math.Min(best, d[i - 2, j - 2] + 1);
                }
                d[i, j] = best;
            }
        }
        return d[a.Length, b.Length];
    }

    /// <summary>
    /// The candidate closest to <paramref name="name"/>, if it is close enough to be a typo (at most a third
    /// of the name's length, and at most 3 edits), or one that is <paramref name="name"/> with a prefix
    /// left off (<c>listen_port</c> → <c>mcp_listen_port</c>); null otherwise. Ties go to the earlier candidate.
    /// </summary>
    public static string? Suggest(string name, IEnumerable<string> candidates)
    {
        string? best = null;
        var bestDistance = Math.Min(3, Math.Max(1, name.Length / 3)) + 1;
        string? suffixMatch = null;
        foreach (var candidate in candidates)
        {
            var distance = Between(name, candidate);
            if (distance < bestDistance)
            {
                best = candidate;
                bestDistance = distance;
            }
            if (suffixMatch is null && name.Length >= 4 && candidate.EndsWith("_" + name, StringComparison.Ordinal))
            {
                suffixMatch = candidate;
            }
        }
        return best ?? suffixMatch;
    }
}
