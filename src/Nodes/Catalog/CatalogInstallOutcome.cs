namespace Mammoth.Nodes.Catalog;

/// <summary>What <see cref="CatalogInstaller.InstallAsync"/> did.</summary>
public enum CatalogInstallOutcome
{
    /// <summary>The database had no catalog; it now has the latest.</summary>
    Installed,
    /// <summary>Migrations ran from an older version.</summary>
    Upgraded,
    /// <summary>Same version, but functions.sql had changed and was applied again.</summary>
    FunctionsRefreshed,
    /// <summary>Nothing to do.</summary>
    AlreadyCurrent,
}
