import { z } from 'zod';
import { defineRegistry } from '../../../../shared/src/registry.ts';
import type { AlertChannel } from './types.ts';
import { consoleChannel } from './console.ts';
import { slackChannel } from './slack.ts';
import { teamsChannel } from './teams.ts';
import { webhookChannel } from './webhook.ts';
import { emailChannel } from './email.ts';
import { pagerdutyChannel } from './pagerduty.ts';
import { telegramChannel } from './telegram.ts';
import { mattermostChannel } from './mattermost.ts';
import { dingtalkChannel } from './dingtalk.ts';
import { feishuChannel } from './feishu.ts';
import { wecomChannel } from './wecom.ts';

/** Every alert channel: one file each, one line here. */
const ALL = [
  consoleChannel,
  slackChannel,
  teamsChannel,
  webhookChannel,
  emailChannel,
  pagerdutyChannel,
  telegramChannel,
  mattermostChannel,
  dingtalkChannel,
  feishuChannel,
  wecomChannel,
] as const;

export const channels: ReadonlyMap<string, AlertChannel> = defineRegistry(
  'alert channel',
  ALL as unknown as readonly AlertChannel[],
);

/** A channel config: the discriminated union of every channel's `configSchema` (by `type`). */
export const channelConfigSchema = z.discriminatedUnion(
  'type',
  ALL.map((c) => c.configSchema) as unknown as [
    z.ZodObject<{ type: z.ZodLiteral<string> }>,
    ...z.ZodObject<{ type: z.ZodLiteral<string> }>[],
  ],
);
export type ChannelConfig = { readonly type: string } & Record<string, unknown>;
