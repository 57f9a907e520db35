import Foundation
import Quant
import TestSupport
import XCTest
@testable import ModelFormats
@testable import ModelTools
@testable import Transformer

/// `swiftlm quantize` picks llama.cpp's tensor types (fixture from tools/gen-lighten-fixtures plans).
final class QuantizeModelTests: XCTestCase {
    /// Every reference model and file type: our plan gives each tensor llama.cpp's type, in
    /// llama.cpp's write order (fixture from its quantizer's dry run).
    func testTensorTypesMatchLlamaCppForEveryFileType() throws {
        let fixture = try XCTUnwrap(Fixtures.json("lighten/quantize-plans.json") as? [String: Any])
        let models = try XCTUnwrap(fixture["models"] as? [String: [String: Any]])
        XCTAssertEqual(models.count, 4)
        for (model, entry) in models.sorted(by: { $0.key < $1.key }) {
            let names = try XCTUnwrap(entry["tensor_names"] as? [String])
            let legend = try XCTUnwrap(entry["legend"] as? [String])
            let types = try XCTUnwrap(entry["types"] as? [String: String])
            XCTAssertEqual(Set(types.keys), Set(QuantizationFileType.names), "\(model): fixture covers every file type")
            let file = try GGUFFile(path: TestModels.path(model))
            for (name, codes) in types.sorted(by: { $0.key < $1.key }) {
                let plan = try ModelQuantizer.plan(file, fileType: XCTUnwrap(QuantizationFileType(name: name)))
                XCTAssertEqual(plan.entries.map(\.name), names, "\(model) \(name): tensor order")
                let expected = codes.unicodeScalars.map { legend[Int($0.value - UnicodeScalar("a").value)] }
                let got = plan.entries.map(\.targetType.name)
                let differing = zip(names, zip(got, expected)).filter { $0.1.0 != $0.1.1 }
                XCTAssertTrue(differing.isEmpty, "\(model) \(name): typed differently from llama.cpp: \(differing.prefix(5))")
            }
        }
    }
}
