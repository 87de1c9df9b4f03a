namespace Mammoth.Nodes.Master;

/// <summary>The master database is not ready for capture; the message is one sentence saying what to do.</summary>
public sealed class MasterSetupException(string message) : Exception(message);
