namespace Mammoth.Nodes.Sql;

/// <summary>One statement cut from a script: its text (without the terminating semicolon) and where it starts.</summary>
public readonly record struct SqlStatement(string Text, int Offset);
