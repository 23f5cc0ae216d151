using FipsAppliance.Tests.Infrastructure;
using FipsAppliance.Tests.Packaging;

namespace FipsAppliance.Tests.Fips;

/// <summary>
/// `./build.sh fips` and the source of the FIPS provider (FIPS_OPENSSL_TARBALL): the production
/// build names a CMVP-validated release tarball, and the build must not make a module that reports a
/// validated version without being built from that release. Each run has a cache of its own
/// (FIPS_CACHE), so nothing here touches the machine's built modules; the refusals come before any
/// build, so no OpenSSL is compiled.
/// </summary>
public class FipsSourceTests
{
    /// <summary>A tarball shaped like an OpenSSL 3 release (openssl-x.y.z/VERSION.dat), with other bytes.</summary>
    private static async Task<string> FakeReleaseAsync(TempDir dir, string version)
    {
        var v = version.Split('.');
        var top = dir.Combine($"openssl-{version}");
        Directory.CreateDirectory(top);
        await File.WriteAllTextAsync(Path.Combine(top, "VERSION.dat"),
            $"MAJOR={v[0]}\nMINOR={v[1]}\nPATCH={v[2]}\nPRE_RELEASE_TAG=\nBUILD_METADATA=\nRELEASE_DATE=\"\"\nSHLIB_VERSION=3\n");
        await File.WriteAllTextAsync(Path.Combine(top, "Configure"), "#!/bin/sh\necho 'not OpenSSL' >&2; exit 1\n");
        var tarball = dir.Combine($"openssl-{version}.tar.gz");
        await Packages.RunAsync("tar", ["-czf", tarball, "-C", dir.Path, $"openssl-{version}"]);
        return tarball;
    }

    private static Task<ProcessResult> BuildFipsAsync(TempDir dir, string tarball, bool requireValidated) =>
        Packages.RunAsync("bash", [Path.Combine(Repo.Root, "build.sh"), "fips"], check: false, timeout: TimeSpan.FromMinutes(2),
            env: new Dictionary<string, string?>
            {
                ["FIPS_OPENSSL_TARBALL"] = tarball,
                ["FIPS_CACHE"] = dir.Combine("cache"),
                ["FIPS_REQUIRE_VALIDATED"] = requireValidated ? "1" : null,
            });

    [Test]
    [Arguments("3.0.9", "eb1ab04781474360f77c318ab89d8c5a03abc38e63d65a603cabbf1b00a1dc90")]
    [Arguments("3.1.2", "a0ce69b8b97ea6a35b96875235aa453b966ba3cba8af2de23657d8b6767d6539")]
    public async Task A_tarball_that_claims_a_validated_version_without_being_that_release_is_refused(string version, string releaseSha)
    {
        using var dir = new TempDir();
        var tarball = await FakeReleaseAsync(dir, version);
        var r = await BuildFipsAsync(dir, tarball, requireValidated: false);
        await Assert.That(r.ExitCode).IsEqualTo(1).Because(r.All);
        await Assert.That(r.All).Contains($"says it is OpenSSL {version}, a CMVP-validated version, but it is not that release");
        await Assert.That(r.All).Contains($"the release's is {releaseSha}");
        await Assert.That(r.All).DoesNotContain("building the FIPS provider");
        await Assert.That(Directory.Exists(dir.Combine("cache")) && Directory.EnumerateDirectories(dir.Combine("cache"), "fips-*").Any()).IsFalse();
    }

    [Test]
    public async Task A_production_build_refuses_a_source_that_is_not_a_validated_release()
    {
        using var dir = new TempDir();
        var tarball = await FakeReleaseAsync(dir, "3.0.22");
        var r = await BuildFipsAsync(dir, tarball, requireValidated: true);
        await Assert.That(r.ExitCode).IsEqualTo(1).Because(r.All);
        await Assert.That(r.All).Contains("FIPS_REQUIRE_VALIDATED=1: openssl-3.0.22.tar.gz is OpenSSL 3.0.22, not a CMVP-validated release");
        await Assert.That(r.All).Contains("(validated: 3.0.8 3.0.9 3.1.2)");
        await Assert.That(r.All).DoesNotContain("building the FIPS provider");
    }

    [Test]
    public async Task A_development_build_from_another_version_says_it_is_not_a_validated_release()
    {
        using var dir = new TempDir();
        var tarball = await FakeReleaseAsync(dir, "3.0.22");
        // It goes on to build (the fake Configure then fails): the line before says what the module will be.
        var r = await BuildFipsAsync(dir, tarball, requireValidated: false);
        await Assert.That(r.All).Contains("FIPS provider source: openssl 3.0.22 (openssl-3.0.22.tar.gz), not a CMVP-validated release");
        await Assert.That(r.All).Contains("building the FIPS provider from openssl-3.0.22.tar.gz");
        await Assert.That(r.ExitCode).IsNotEqualTo(0);
    }

    [Test]
    public async Task A_tarball_without_version_dat_is_not_taken_for_openssl()
    {
        using var dir = new TempDir();
        var tarball = dir.Combine("openssl-3.0.9.tar.gz");
        dir.File("x/README", "not openssl");
        await Packages.RunAsync("tar", ["-czf", tarball, "-C", dir.Path, "x"]);
        var r = await BuildFipsAsync(dir, tarball, requireValidated: false);
        await Assert.That(r.ExitCode).IsEqualTo(1).Because(r.All);
        await Assert.That(r.All).Contains("no VERSION.dat inside: not an OpenSSL 3 source tarball");
    }
}
