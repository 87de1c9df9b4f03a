namespace Mammoth.Nodes; internal static class Placeholder { }
