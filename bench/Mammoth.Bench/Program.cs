using BenchmarkDotNet.Running;
using Mammoth.Bench;

// Every benchmark class in this assembly, chosen with --filter (see bench/README.md).
BenchmarkSwitcher.FromAssembly(typeof(BenchConfig).Assembly).Run(args, new BenchConfig());
