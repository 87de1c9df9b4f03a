namespace Mammoth.Net.Configuration;

/// <summary>How a setting's text is read; see docs/configuration.md for the accepted spellings.</summary>
internal enum SettingKind
{
    /// <summary>on/off, true/false, yes/no, 1/0 and unambiguous prefixes, case-insensitive.</summary>
    Bool,

    /// <summary>A whole number, decimal or 0x hexadecimal.</summary>
    Int,

    /// <summary>A floating-point number.</summary>
    Real,

    /// <summary>Any text.</summary>
    String,

    /// <summary>One of a fixed set of words, case-insensitive.</summary>
    Enum,

    /// <summary>Bytes, with an optional unit B, kB, MB, GB, TB (1024-based).</summary>
    Size,

    /// <summary>A duration, with an optional unit us, ms, s, min, h, d; a bare number is in seconds.</summary>
    Time,

    /// <summary>Comma-separated items, each trimmed; the setting's class reads the items.</summary>
    List,
}
