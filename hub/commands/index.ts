// Every CLI command, in the order --help lists them.
import type { CommandSpec } from '../cli-kit.js';
import { auditVerify } from './audit.js';
import { backup } from './backup.js';
import { check } from './check.js';
import { demo } from './demo.js';
import { init } from './init.js';
import { modelSet } from './model.js';
import { start } from './start.js';
import { deviceAdd, deviceList, deviceShow, deviceToken } from './device.js';
import { deviceLifecycleCommands } from './device-lifecycle.js';
import { patientAdd, patientAssign } from './patient.js';
import { userAdd, userDisable, userList } from './user.js';

export const COMMANDS: readonly CommandSpec[] = [
  init,
  start,
  demo,
  deviceAdd,
  deviceToken,
  deviceList,
  deviceShow,
  ...deviceLifecycleCommands,
  modelSet,
  patientAdd,
  patientAssign,
  userAdd,
  userList,
  userDisable,
  auditVerify,
  check,
  backup,
];
