/**
 * The parts of src/ and which parts each may import (`npm run lint` runs this through
 * dependency-cruiser). The table is the layering of docs/architecture.md: a part may import
 * itself and the parts it lists, nothing else, so an import that goes upwards or sideways fails
 * the lint with the rule's name. Import circles fail too, inside a part as well as across parts.
 */
const PARTS = {
  common: [],
  observability: ["common"],
  config: ["common", "observability"],
  handlers: ["common", "observability", "config"],
  checkpoint: ["common", "observability", "config"],
  producer: ["common", "observability", "config"],
  deadletter: ["common", "observability", "config", "handlers", "checkpoint", "producer"],
  worker: ["common", "observability", "config", "handlers", "checkpoint"],
  ops: ["common", "observability", "config", "checkpoint", "worker"],
  app: ["common", "observability", "config", "handlers", "checkpoint", "deadletter", "worker", "ops"],
  archive: ["common", "observability", "config", "handlers", "checkpoint", "producer", "deadletter"],
  emulator: ["common", "observability", "config"],
  local: ["common", "observability", "config", "emulator"],
  inspect: ["common", "observability", "config", "checkpoint", "producer"],
  dev: ["common", "observability", "config", "producer", "inspect", "local", "emulator"],
  drill: [
    "common",
    "observability",
    "config",
    "handlers",
    "producer",
    "worker",
    "inspect",
    "local",
    "emulator",
  ],
};
// The entry point may import every part.
PARTS.cli = Object.keys(PARTS);

const partRules = Object.entries(PARTS).map(([part, allowed]) => ({
  name: `${part}-imports-only-${allowed.length === 0 ? "itself" : allowed.join("+")}`,
  comment: `src/${part} may import only ${["itself", ...allowed].join(", ")} (docs/architecture.md)`,
  severity: "error",
  from: { path: `^src/${part}/` },
  to: { path: "^src/", pathNot: `^src/(${[part, ...allowed].join("|")})/` },
}));

module.exports = {
  forbidden: [
    {
      name: "no-circular",
      comment: "an import circle makes a part unreadable on its own; split the shared piece out",
      severity: "error",
      from: { path: "^src/" },
      to: { circular: true },
    },
    {
      name: "src-never-imports-tests-or-bench",
      severity: "error",
      from: { path: "^src/" },
      to: { path: "^(test|bench)/" },
    },
    ...partRules,
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsConfig: { fileName: "tsconfig.json" },
    tsPreCompilationDeps: true,
    exclude: { path: "^(dist|node_modules)/" },
  },
};
