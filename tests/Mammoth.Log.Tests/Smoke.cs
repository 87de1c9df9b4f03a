namespace Mammoth.Log.Tests; public class Smoke { [Xunit.Fact] public void Ok() { } }
