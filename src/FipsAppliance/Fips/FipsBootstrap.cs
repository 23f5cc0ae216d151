using FipsAppliance.Configuration;

namespace FipsAppliance.Fips;

/// <summary>Why the process refuses to run: one sentence saying what is wrong and how to fix it.</summary>
public sealed class FipsRefusal(string message) : Exception(message);

/// <summary>Which module runs, as `fips-status` prints it and the start-up log line says it.</summary>
public sealed class FipsReport
{
    public string ToText() => "";
    public string ToLogLine() => "";
}

/// <summary>STUB: the foundation issue fills this in.</summary>
public static class FipsBootstrap
{
    /// <summary>
    /// Puts this process in FIPS mode (before any .NET crypto call) and verifies it.
    /// Throws <see cref="FipsRefusal"/> when any check fails. Idempotent.
    /// </summary>
    public static FipsReport Enable(FipsSettings settings) => throw new FipsRefusal("not implemented");
}
