using System.Runtime.CompilerServices;
using FipsAppliance.Runtime;

namespace FipsAppliance.Tests.Infrastructure;

internal static class TestProcess
{
    /// <summary>
    /// The sessions the tests run in-process run as in the daemon: socket completions inline on
    /// the socket event threads (<see cref="ProcessKnobs"/>), so a continuation that blocks shows
    /// here, and so does a request that starts on one event thread and ends on the other (what
    /// made async boxes miss their per-thread cache, <c>SteadyStateAllocationTests</c>). Set
    /// before the test process creates its first socket, which is when .NET reads it.
    /// </summary>
    [ModuleInitializer]
    internal static void UseTheDaemonsSocketSettings() => ProcessKnobs.UseInlineCompletions();
}
