import ArgumentParser

@main
struct SwiftLM: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swiftlm",
        abstract: "Run large language models on the CPU, from GGUF files.",
        subcommands: [RunCommand.self, TokenizeCommand.self, InspectCommand.self, PerplexityCommand.self, BenchCommand.self, ChatCommand.self, ServeCommand.self, SuperviseCommand.self, SensorsCommand.self,
                      QuantizeCommand.self, PruneCommand.self, ConvertCommand.self])
}
