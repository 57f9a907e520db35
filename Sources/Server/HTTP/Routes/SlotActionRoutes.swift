import Foundation
import Hummingbird
import JSON

/// POST /slots/{id}?action=save|restore|erase, as llama-server serves it when started with
/// `--slot-save-path DIR`: save and restore take `{"filename": …}`, a plain name inside DIR.
/// Without the flag, llama-server's 501.
extension LlamaCppRoutes {
    func slotAction(_ request: Request, id: String) async -> Response {
        await state.respond(.native, route: "slots") { _ in
            guard let directory = state.options.slotSavePath else {
                throw APIError(.notSupported, "This server does not support slots action. Start it with `--slot-save-path`")
            }
            guard let slot = Int(id) else { throw APIError.invalid("Invalid slot ID") }
            let action = request.uri.queryParameters["action"].map(String.init)
            guard let action, ["save", "restore", "erase"].contains(action) else { throw APIError.invalid("Invalid action") }
            let engine = try state.readyEngine()
            if action == "erase" {
                return jsonResponse(["id_slot": .int(slot), "n_erased": .int(try await engine.eraseSlot(slot))])
            }
            var request = request
            let fields = try JSONReader(try await readJSON(&request, limit: state.options.maxBodyBytes))
            let filename = try fields.requiredString("filename")
            guard SlotFileName.isValid(filename) else { throw APIError.invalid("Invalid filename", parameter: "filename") }
            let url = URL(fileURLWithPath: directory, isDirectory: true).appendingPathComponent(filename)
            if action == "save" {
                let saved = try await engine.saveSlot(slot, to: url)
                return jsonResponse(["id_slot": .int(slot), "filename": .string(filename), "n_saved": .int(saved.tokens),
                                     "n_written": .int(saved.bytes), "timings": ["save_ms": .number(saved.seconds * 1000)]])
            }
            let restored = try await engine.restoreSlot(slot, from: url)
            return jsonResponse(["id_slot": .int(slot), "filename": .string(filename), "n_restored": .int(restored.tokens),
                                 "n_read": .int(restored.bytes), "timings": ["restore_ms": .number(restored.seconds * 1000)]])
        }
    }
}
