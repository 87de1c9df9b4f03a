namespace Mammoth.Net; internal static class Placeholder { }
