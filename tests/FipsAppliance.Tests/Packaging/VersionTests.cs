using System.Formats.Tar;
using System.IO.Compression;
using FipsAppliance.Tests.Infrastructure;

namespace FipsAppliance.Tests.Packaging;

/// <summary>One version string (VERSION) in the binary, both packages and both changelogs.</summary>
public class VersionTests
{
    [Test]
    public async Task Binary_prints_the_version_in_VERSION()
    {
        var r = await Packages.RunAsync(Repo.Binary, ["-v"]);
        await Assert.That(r.StdOut).StartsWith($"datadog-fips-proxy version {Packages.Version} ");
    }

    [Test]
    public async Task Deb_and_its_changelog_carry_the_version_in_VERSION()
    {
        var control = await Packages.RunAsync("dpkg-deb", ["-f", Packages.Deb, "Package", "Version"]);
        await Assert.That(control.StdOut).IsEqualTo($"Package: {Packages.Name}\nVersion: {Packages.Version}\n");

        var changelog = await DebFileAsync($"./usr/share/doc/{Packages.Name}/changelog.gz");
        using var gz = new GZipStream(new MemoryStream(changelog), CompressionMode.Decompress);
        var first = new StreamReader(gz).ReadLine();
        await Assert.That(first).StartsWith($"{Packages.Name} ({Packages.Version}) ");
    }

    [Test]
    public async Task Rpm_and_its_changelog_carry_the_version_in_VERSION()
    {
        var q = await Packages.RunAsync("rpm", ["-qp", "--qf", "%{NAME} %{VERSION} %{RELEASE}\n", Packages.Rpm]);
        await Assert.That(q.StdOut.Trim()).IsEqualTo($"{Packages.Name} {Packages.Version} 1");
        var changelog = await Packages.RunAsync("rpm", ["-qp", "--changelog", Packages.Rpm]);
        await Assert.That(changelog.StdOut.Split('\n')[0]).EndsWith($" - {Packages.Version}-1");
    }

    [Test]
    public async Task Packages_ship_the_binary_that_was_built()
    {
        var inDeb = await DebFileAsync($".{Packages.Binary}");
        await Assert.That(Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(inDeb)))
            .IsEqualTo(Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(Repo.Binary))));
        var rpmDigest = await Packages.RunAsync("rpm", ["-qp", "--qf", "[%{FILENAMES} %{FILEDIGESTS}\n]", Packages.Rpm]);
        var line = rpmDigest.StdOut.Split('\n').Single(l => l.StartsWith(Packages.Binary + " ", StringComparison.Ordinal));
        await Assert.That(line.Split(' ')[1].ToUpperInvariant())
            .IsEqualTo(Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(Repo.Binary))));
    }

    /// <summary>One file of the .deb's data archive.</summary>
    internal static async Task<byte[]> DebFileAsync(string member)
    {
        using var tmp = new TempDir();
        var tar = tmp.Combine("data.tar");
        await Packages.RunAsync("sh", ["-c", "dpkg-deb --fsys-tarfile \"$0\" > \"$1\"", Packages.Deb, tar]);
        await using var reader = new TarReader(File.OpenRead(tar));
        while (await reader.GetNextEntryAsync() is { } entry)
        {
            if (entry.Name != member || entry.DataStream is null) continue;
            var ms = new MemoryStream();
            await entry.DataStream.CopyToAsync(ms);
            return ms.ToArray();
        }
        throw new InvalidOperationException($"{member} is not in {Packages.Deb}");
    }
}
