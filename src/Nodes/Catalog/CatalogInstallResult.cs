namespace Mammoth.Nodes.Catalog;

/// <summary>The result of an install: what happened, the versions before and after, and facts worth a warning.</summary>
/// <param name="PreviousVersion">0 when there was no catalog.</param>
/// <param name="WalLevel">The server's wal_level; replication needs <c>logical</c> on the master.</param>
/// <param name="PublicationRecreated">Publication mammoth was missing and has been created again.</param>
public sealed record CatalogInstallResult(CatalogInstallOutcome Outcome, int PreviousVersion, int Version, string WalLevel, bool PublicationRecreated)
{
    /// <summary>One line for the user, e.g. "installed the MammothFast catalog, version 1, in database app".</summary>
    public string Describe(string database) => Outcome switch
    {
        CatalogInstallOutcome.Installed => $"installed the MammothFast catalog (schema mammoth), version {Version}, in database {database}",
        CatalogInstallOutcome.Upgraded => $"upgraded the MammothFast catalog in database {database} from version {PreviousVersion} to version {Version}",
        CatalogInstallOutcome.FunctionsRefreshed => $"the MammothFast catalog in database {database} is already at version {Version}; refreshed its functions",
        _ => $"the MammothFast catalog in database {database} is already at version {Version}; nothing to do",
    };
}
