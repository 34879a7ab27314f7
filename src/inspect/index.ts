/**
 * Inspection of a consumer group's state: ownership, checkpoints and lag per partition (`ehw
 * status`), and checkpoint listing and reset (`ehw checkpoints`). The row computation is pure and
 * reusable; the readers go through the same SDK clients the worker uses.
 */
export {
  checkpointListJson,
  renderCheckpointList,
  renderRefusal,
  renderResetOutcome,
  renderResetPlan,
  resetJson,
} from "./checkpoints-report.js";
export {
  type EventHubsErrorContext,
  INSPECT_RETRY_OPTIONS,
  type InspectClients,
  type InspectTarget,
  type OpenInspectClientsOptions,
  openInspectClients,
  translateEventHubsError,
} from "./clients.js";
export { choosePartitions, compileInspectConfig, type InspectConfig } from "./config.js";
export { type EventPositionInfo, type ReadFirstEventOptions, readFirstEvent } from "./event-reader.js";
export { mixedPrefixWarning, namespacePrefixesOf, readNamespacePrefixes } from "./namespace-prefixes.js";
export {
  applyReset,
  planReset,
  type ResetOutcome,
  type ResetPlan,
  type ResetRequest,
} from "./reset.js";
export {
  BEFORE_FIRST_OFFSET,
  type CheckpointDecision,
  type CheckpointPosition,
  checkpointForStart,
  describeLiveOwners,
  describeResetTarget,
  isUnchanged,
  type LiveOwner,
  liveOwners,
  parseResetTarget,
  type ResetPlanEntry,
  type ResetTarget,
  type StartDecision,
  startAfterTimeLookup,
  startDecision,
} from "./reset-plan.js";
export {
  checkContainer,
  readCheckpoints,
  readOwnerships,
  readPartitionIds,
  readPartitionInfos,
  readStatusSnapshot,
  type StatusSnapshot,
} from "./snapshot.js";
export {
  buildStatusReport,
  type ReportSource,
  renderStatusText,
  renderTable,
  type StatusReport,
  statusJson,
} from "./status-report.js";
export {
  type CheckpointRecord,
  computeStatusRows,
  computeStatusTotals,
  isOwnershipExpired,
  type OwnershipRecord,
  type OwnershipState,
  ownershipState,
  type PartitionInfo,
  type PartitionStatusRow,
  partitionLag,
  type StatusInputs,
  type StatusTotals,
  strayPartitionIds,
} from "./status-rows.js";
