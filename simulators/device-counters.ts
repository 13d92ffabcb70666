// What a simulated device counts about itself: the device side of the fleet summary.

export interface DeviceCounters {
  /** Messages and readings put into the outbox. */
  recorded: number;
  recordedReadings: number;
  /** Messages and readings the hub acknowledged (each seq once). */
  acked: number;
  ackedReadings: number;
  /** Publishes of a message that had been published before without a PUBACK. */
  resent: number;
  /** Messages dropped from a full outbox. */
  dropped: number;
  droppedReadings: number;
  connectAttempts: number;
  connects: number;
  disconnects: number;
  /** Connects the hub refused (TLS alert or CONNACK code). */
  refused: number;
  renewals: number;
  commandsDone: number;
  commandsRejected: number;
  /** Commands that did not verify (ignored, not answered). */
  commandsIgnored: number;
}

export function newCounters(): DeviceCounters {
  return {
    recorded: 0,
    recordedReadings: 0,
    acked: 0,
    ackedReadings: 0,
    resent: 0,
    dropped: 0,
    droppedReadings: 0,
    connectAttempts: 0,
    connects: 0,
    disconnects: 0,
    refused: 0,
    renewals: 0,
    commandsDone: 0,
    commandsRejected: 0,
    commandsIgnored: 0,
  };
}
