using FipsAppliance.Tests.Infrastructure;

namespace FipsAppliance.Tests.Packaging;

/// <summary>
/// lintian (no error, no warning) and rpmlint (no error), with every override in a file of the
/// repository and its reason written above it.
/// </summary>
public class PackageLintTests
{
    // One lintian run (about a minute) serves both lintian tests.
    private static readonly Lazy<Task<ProcessResult>> Lintian = new(() =>
        Packages.RunAsync("lintian", ["--no-cfg", "--display-info", "--show-overrides", Packages.Deb], check: false, timeout: TimeSpan.FromMinutes(5)));

    [Test]
    public async Task Lintian_reports_no_error_and_no_warning()
    {
        var r = await Lintian.Value;
        var problems = r.All.Split('\n').Where(l => l.StartsWith("E: ", StringComparison.Ordinal) || l.StartsWith("W: ", StringComparison.Ordinal)).ToList();
        await Assert.That(problems).IsEmpty();
        // The run went through (lintian exits 2 whenever --show-overrides shows an overridden error, so
        // its exit code says nothing here): it checked the package and listed the overrides.
        await Assert.That(r.All).Contains("O: datadog-fips-proxy: ");
        await Assert.That(r.All).DoesNotContain("internal error");
    }

    [Test]
    public async Task Lintian_overrides_are_each_used_and_explained()
    {
        var r = await Lintian.Value;
        await Assert.That(r.All).DoesNotContain("unused-override");
        await Assert.That(r.All).DoesNotContain("mismatched-override");
        await Assert.That(r.All).Contains("O: datadog-fips-proxy: dir-or-file-in-opt");
        await AssertEveryRuleExplained(Path.Combine(Repo.Root, "deb", "lintian-overrides"), line => line.StartsWith(Packages.Name + ":", StringComparison.Ordinal));
    }

    [Test]
    public async Task Rpmlint_reports_no_error()
    {
        var config = Path.Combine(Repo.Root, "rpm", "rpmlint.toml");
        var r = await Packages.RunAsync("rpmlint", ["-c", config, Packages.Rpm], check: false, timeout: TimeSpan.FromMinutes(3));
        var errors = r.All.Split('\n').Where(l => l.Contains(": E: ", StringComparison.Ordinal)).ToList();
        await Assert.That(errors).IsEmpty();
        await Assert.That(r.All).Contains(" 0 errors,");
        await Assert.That(r.ExitCode).IsEqualTo(0);
        await AssertEveryRuleExplained(config, line => line.StartsWith('\'') || line.StartsWith('"'));
    }

    /// <summary>Every rule line of an override file has a comment line (its reason) right above it (or above the rule before, for a group).</summary>
    private static async Task AssertEveryRuleExplained(string file, Func<string, bool> isRule)
    {
        var lines = File.ReadAllLines(file).Select(l => l.Trim()).ToList();
        var unexplained = new List<string>();
        for (int i = 0; i < lines.Count; i++)
        {
            if (!isRule(lines[i])) continue;
            int j = i - 1;
            while (j >= 0 && isRule(lines[j])) j--;
            if (j < 0 || !lines[j].StartsWith('#')) unexplained.Add(lines[i]);
        }
        await Assert.That(unexplained).IsEmpty();
        await Assert.That(lines.Count(isRule)).IsGreaterThan(0);
    }
}
