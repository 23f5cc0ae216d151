namespace FipsAppliance.Tests;

public class SmokeTests
{
    [Test]
    public async Task Version_is_three_part()
    {
        await Assert.That(FipsAppliance.Cli.CommandLine.Version.Split('.').Length).IsEqualTo(3);
    }
}
