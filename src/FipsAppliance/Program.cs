using FipsAppliance.Cli;

// datadog-fips-proxy: a FIPS relay for the Datadog Agent. See Cli/CommandLine.cs for the
// command line (HAProxy's habits: -f, -c, -q, -v) and README.md for the data path.
return CommandLine.Run(args);
