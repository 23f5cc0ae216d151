using FipsAppliance.Cli;
using FipsAppliance.Runtime;

// datadog-fips-proxy: a FIPS relay for the Datadog Agent. See Cli/CommandLine.cs for the
// command line (HAProxy's habits: -f, -c, -q, -v) and README.md for the data path.
ProcessKnobs.Apply();   // before the first socket (inline socket completions) and the first certificate check (HOME)
return CommandLine.Run(args);
