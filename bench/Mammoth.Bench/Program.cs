using BenchmarkDotNet.Running;

// dotnet run -c Release --project bench/Mammoth.Bench -- --filter '*KeyIndex*' [--job short]
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;
