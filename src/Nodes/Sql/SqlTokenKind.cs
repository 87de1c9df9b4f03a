namespace Mammoth.Nodes.Sql;

/// <summary>What a <see cref="SqlToken"/> is. Comments and white space produce no tokens.</summary>
public enum SqlTokenKind
{
    /// <summary>An unquoted identifier or keyword (letters, digits, _ and $).</summary>
    Word,
    /// <summary>A "double-quoted" identifier (also U&amp;"…").</summary>
    QuotedIdentifier,
    /// <summary>A string constant: '…', E'…', B'…', X'…', N'…', U&amp;'…'.</summary>
    String,
    /// <summary>A $tag$ … $tag$ string.</summary>
    DollarString,
    /// <summary>A numeric constant.</summary>
    Number,
    /// <summary>A parameter such as $1.</summary>
    Parameter,
    /// <summary>An operator or punctuation: ( ) [ ] , ; : :: . and operator sequences.</summary>
    Symbol,
}
