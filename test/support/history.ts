import proto from '@temporalio/proto';

export const EventType = proto.temporal.api.enums.v1.EventType;
