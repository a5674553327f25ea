// Second, independent check of generated Argo CD objects: @kubernetes-models/argo-cd's validators.
// Reads JSON files (each an array of objects), prints `file[index] kind/name: error` per problem, exits 1 if any.
import { readFileSync } from "node:fs";
import { Application, ApplicationSet, AppProject } from "@kubernetes-models/argo-cd/argoproj.io/v1alpha1";

const MODELS = { Application, ApplicationSet, AppProject };
let problems = 0;
let checked = 0;
for (const file of process.argv.slice(2)) {
  JSON.parse(readFileSync(file, "utf8")).forEach((doc, index) => {
    const Model = MODELS[doc.kind];
    const where = `${file}[${index}] ${doc.kind}/${doc.metadata?.name}`;
    if (!Model) {
      console.log(`${where}: no model for this kind`);
      problems += 1;
      return;
    }
    try {
      new Model(doc).validate();
      checked += 1;
    } catch (error) {
      console.log(`${where}: ${error.message}`);
      problems += 1;
    }
  });
}
console.log(`checked ${checked} objects, ${problems} problems`);
process.exit(problems ? 1 : 0);
