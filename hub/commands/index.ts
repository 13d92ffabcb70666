// Every CLI command, in the order --help lists them.
import type { CommandSpec } from '../cli-kit.js';
import { auditVerify } from './audit.js';
import { backup, backupDrill, backupVerify, restore } from './backup.js';
import { breakGlassReview } from './break-glass.js';
import { caRotateIssuer } from './ca.js';
import { check } from './check.js';
import { demo } from './demo.js';
import { fhirClientAdd, fhirClientList } from './fhir-client.js';
import { fhirPushRetry, fhirPushStatus } from './fhir-push.js';
import { init } from './init.js';
import { keysRotateMaster } from './keys.js';
import { modelSet } from './model.js';
import { start } from './start.js';
import { simulate } from './simulate.js';
import { deviceAdd, deviceBind, deviceList, deviceShow, deviceToken, deviceUnbind } from './device.js';
import { deviceConfig, devicePing } from './device-command.js';
import { deviceLifecycleCommands } from './device-lifecycle.js';
import { gatewayBind, gatewayList, gatewayUnbind } from './gateway.js';
import { patientAdd, patientAssign, patientErase } from './patient.js';
import { alertDefaults, patientAlertSettings } from './alert-settings.js';
import { pushKeys } from './push.js';
import { rpmClose } from './rpm.js';
import { userDevices, userSignOutEverywhere } from './staff-devices.js';
import {
  userAdd,
  userDisable,
  userEnable,
  userList,
  userResetMfa,
  userResetPassword,
  userUnlock,
} from './user.js';

export const COMMANDS: readonly CommandSpec[] = [
  init,
  start,
  demo,
  deviceAdd,
  deviceToken,
  deviceList,
  deviceShow,
  deviceBind,
  deviceUnbind,
  ...deviceLifecycleCommands,
  devicePing,
  deviceConfig,
  gatewayBind,
  gatewayUnbind,
  gatewayList,
  modelSet,
  patientAdd,
  patientAssign,
  patientErase,
  patientAlertSettings,
  alertDefaults,
  pushKeys,
  userAdd,
  userList,
  userDisable,
  userEnable,
  userUnlock,
  userResetPassword,
  userResetMfa,
  userDevices,
  userSignOutEverywhere,
  fhirClientAdd,
  fhirClientList,
  fhirPushStatus,
  fhirPushRetry,
  auditVerify,
  rpmClose,
  check,
  keysRotateMaster,
  caRotateIssuer,
  simulate,
  backup,
  backupVerify,
  backupDrill,
  restore,
  breakGlassReview,
];
