namespace Mammoth.Log; internal static class Placeholder { }
